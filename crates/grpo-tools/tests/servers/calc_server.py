"""A third-party MCP server for the tests of grpo-tools, written with the
`mcp` package from PyPI: a working tool, a failing one, a hanging one and one
that crashes the process.

    python calc_server.py              serve on stdio
    python calc_server.py --die-at-start   write to stderr and exit 3 before the handshake
"""

import os
import sys

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

if "--die-at-start" in sys.argv:
    print("calc_server: cannot open the abacus", file=sys.stderr, flush=True)
    sys.exit(3)

server = MCPServer("calc")


@server.tool()
def add(a: int, b: int) -> str:
    """Adds two integers."""
    return str(a + b)


@server.tool()
def divide(a: float, b: float) -> str:
    """Divides a by b."""
    if b == 0:
        raise ToolError("division by zero")
    return str(a / b)


@server.tool()
async def hang(seconds: float = 3600.0) -> str:
    """Sleeps before answering; for timeouts."""
    await anyio.sleep(seconds)
    return "woke up"


@server.tool()
def crash() -> str:
    """Kills its own process, as a server with a fatal bug would."""
    print("calc_server: fatal: the abacus broke", file=sys.stderr, flush=True)
    os._exit(7)


if __name__ == "__main__":
    server.run()
