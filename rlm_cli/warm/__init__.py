"""A warm process: LiteLLM and the command line loaded once, each `rlm ask` a fork of it.

Importing LiteLLM costs seconds of CPU in every new process, before a run's first model call can
go out. After a run on a terminal, rlm leaves a server process behind (`warm` seconds, 300 by
default; 0: none) that has imported everything a run needs and listens on a Unix socket in a
directory only the user can enter. The next `rlm ask` started in the same environment hands its
arguments, working directory, environment and standard streams to it; the server forks a child
that runs the command exactly as the new process would have, on the caller's own terminal or
pipes, and the caller waits, forwarding signals, and exits with the child's status.

address.py: where a server listens, named after everything that must match (interpreter, code,
environment); client.py: the hand-off and the start of a server; server.py: the server and its
children. The caller's side is standard library only: it runs before the command line loads.
"""
