"""`python -P -m rlm_cli.warm DIRECTORY KEY IDLE`: a warm server, as `client.keep_warm` starts one."""

import sys

from rlm_cli.warm.address import Address
from rlm_cli.warm.server import become, serve

request = serve(Address(sys.argv[1], sys.argv[2]), float(sys.argv[3]))
if request is not None:
    become(request)
