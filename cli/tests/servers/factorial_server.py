"""An MCP server, written with the `mcp` package from PyPI, that offers the
synthetic catalogue's `calculate_factorial` and misbehaves on request, for
the multi-turn rollout tests:

    python factorial_server.py ok      the true result, {"factorial": 720}
    python factorial_server.py fail    a tool error: "the abacus is broken"
    python factorial_server.py hang    never answers
    python factorial_server.py crash   kills its own process
"""

import json
import math
import os
import sys

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

MODE = sys.argv[1] if len(sys.argv) > 1 else "ok"
server = MCPServer("factorial")


@server.tool()
async def calculate_factorial(n: int) -> str:
    """Returns n! for a non-negative integer n."""
    if MODE == "fail":
        raise ToolError("the abacus is broken")
    if MODE == "hang":
        await anyio.sleep(3600)
    if MODE == "crash":
        print("factorial_server: fatal: the abacus fell apart", file=sys.stderr, flush=True)
        os._exit(7)
    return json.dumps({"factorial": math.factorial(n)}, separators=(",", ":"))


if __name__ == "__main__":
    server.run()
