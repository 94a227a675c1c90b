"""`rlm mcp`: rlm as a Model Context Protocol server over stdio, for coding agents.

Only `server` imports the MCP SDK, and only once the command runs; each tool call is one
`rlm ask` child process (`child`), so a run's output, failures and stop never touch the server.
"""
