"""`python -m rlm_cli.warm SOCKET LOCK IDLE`: a warm server, as `client.keep_warm` starts one."""

import sys

from rlm_cli.warm.server import become, serve

request = serve(sys.argv[1], sys.argv[2], float(sys.argv[3]))
if request is not None:
    become(request)
