"""`rlm bench`: an offline long-context suite generated from a seed, scored, run per method.

Nothing here is imported by `rlm ask`; the command imports this package lazily.
"""
