"""The language server through a real client over stdio: start-up, diagnostics, hover.

`netlang lsp` is started as an editor starts it (the console script beside this Python) and
driven by pygls' own client:

- start-up: process start to the `initialize` answer, and to the diagnostics of a 3-line
  file opened right after it, against `python -c "import numpy"` and `python -c "import
  pygls.lsp.server"` (what answering after importing pygls would cost at least), all fresh
  processes started in turn; with `--before CHECKOUT`, the server of another netlang checkout
  (say, main before a change) is started in turn too;
- diagnostics: a 1,000-line netlist edited 40 times (`didChange` with one range, as editors
  send it: one weight of one line each time, a different line each time); the time from
  sending the change to receiving its `publishDiagnostics`, minus the server's debounce (the
  pause it waits for typing to stop), against `lint.diagnose` on the same text in this
  process (what `netlang check` costs) and against the server's own work in this process (an
  `Analysis` with the document's own `Versions`: incremental parser, memo); with `--before`,
  each edit goes to both servers in turn;
- hover: on 60 names of the same file (a node, with its compiled row), against
  `Analysis.hover` in this process;
- a 10,000-line file: from `didOpen` to its diagnostics, hovers on it, and edits of it.

Medians and 95th percentiles; no timing is asserted anywhere.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from _common import arguments, fmt_time, machine_note, netlist

from lsprotocol import types
from pygls.lsp.client import LanguageClient
from pygls.uris import from_fs_path

from netlang.lint import diagnose
from netlang.lsp.analysis import Analysis, Versions
from netlang.lsp.server import DEBOUNCE_SECONDS


def server_command(checkout: Optional[str] = None) -> List[str]:
    """`netlang lsp` as an editor starts it; or the server of the netlang in ``checkout``."""
    if checkout is not None:
        code = f"import sys; sys.path.insert(0, {str(Path(checkout).resolve())!r}); from netlang.launcher import main; main()"
        return [sys.executable, "-c", code, "lsp"]
    script = Path(sys.executable).parent / "netlang"
    if script.exists():
        return [str(script), "lsp"]
    return [sys.executable, "-c", "from netlang.launcher import main; main()", "lsp"]


def one_weight(text: str, version: int) -> Tuple[types.TextDocumentContentChangePartial, str]:
    """An edit as an editor sends it: the first weight of one node's line (a different line each
    version) replaced by another of the same length; and the text after it."""
    lines = text.split("\n")
    line = 2 + (version * 97) % (len(lines) - 5)
    start, end = lines[line].index("(") + 1, lines[line].index("*")
    weight = f"0.{version % 9 + 1}"
    lines[line] = lines[line][:start] + weight + lines[line][end:]
    where = types.Range(types.Position(line, start), types.Position(line, end))
    return types.TextDocumentContentChangePartial(range=where, text=weight), "\n".join(lines)


async def changed(
    client: LanguageClient, uri: str, version: int, change: types.TextDocumentContentChangePartial, arrivals: Dict[int, float], arrived: asyncio.Event
) -> float:
    """Send ``change`` as ``version`` of ``uri``; the seconds until its diagnostics arrive."""
    sent = time.perf_counter()
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(types.VersionedTextDocumentIdentifier(version, uri), [change])
    )
    while version not in arrivals:
        arrived.clear()
        await arrived.wait()
    return arrivals[version] - sent


def percentile(values: List[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def start(command: List[str]) -> Tuple[LanguageClient, float, Dict[int, float], asyncio.Event]:
    """A client talking to a new server: (client, seconds to the initialize answer, arrival
    time of each version's diagnostics, an event set at each arrival)."""
    client = LanguageClient("netlang-benchmark", "1")
    arrivals: Dict[int, float] = {}
    arrived = asyncio.Event()

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def published(params: types.PublishDiagnosticsParams) -> None:
        if params.version is not None:
            arrivals[params.version] = time.perf_counter()
            arrived.set()

    begin = time.perf_counter()
    await client.start_io(*command)
    await client.initialize_async(types.InitializeParams(capabilities=types.ClientCapabilities()))
    startup = time.perf_counter() - begin
    client.initialized(types.InitializedParams())
    client.began = begin  # type: ignore[attr-defined]
    return client, startup, arrivals, arrived


async def opened(client: LanguageClient, uri: str, text: str, arrivals: Dict[int, float], arrived: asyncio.Event) -> None:
    """Open ``text`` as version 1 of ``uri`` and wait for its diagnostics."""
    arrivals.pop(1, None)
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "netlang", 1, text)))
    while 1 not in arrivals:
        arrived.clear()
        await arrived.wait()


async def first_diagnostics(command: List[str], uri: str) -> Tuple[float, float]:
    """A new server: (seconds to its initialize answer, seconds to the diagnostics of a 3-line
    file opened right after), both from the process start."""
    client, startup, arrivals, arrived = await start(command)
    await opened(client, uri, SMALL, arrivals, arrived)
    first = arrivals[1] - client.began  # type: ignore[attr-defined]
    await stop(client)
    return startup, first


async def stop(client: LanguageClient) -> None:
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()


SMALL = "input x1, x2\nnode y = step(x1 + x2 > 1)\noutput y\n"


def python_start(code: str) -> float:
    begin = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - begin


def summary(times: List[float], base: float) -> str:
    median = statistics.median(times)
    return f"median {fmt_time(median):>10}  {median / base:.2f}x   p95 {fmt_time(percentile(times, 0.95))}"


async def startup(command: List[str], before: Optional[List[str]], starts: int, folder: str) -> None:
    """Fresh processes, started in turn: numpy, pygls, the server (and the server before)."""
    uri = from_fs_path(str(Path(folder) / "small.net"))
    times: Dict[str, List[float]] = {}
    servers = [("netlang lsp", command)] + ([("before: netlang lsp", before)] if before else [])
    for _ in range(starts):
        times.setdefault("numpy", []).append(python_start("import numpy"))
        times.setdefault("pygls", []).append(python_start("import pygls.lsp.server"))
        for name, server in servers:
            answered, first = await first_diagnostics(server, uri)
            times.setdefault(name, []).append(answered)
            times.setdefault(name + " first", []).append(first)
    base = statistics.median(times["numpy"])
    print(f"\nstart-up ({starts} fresh processes of each, in turn), from the process start")
    print(f"  python -c 'import numpy'                          {summary(times['numpy'], base)}")
    print(f"  python -c 'import pygls.lsp.server'               {summary(times['pygls'], base)}")
    for name, _ in servers:
        print(f"  {name + ': initialize answer':<50}{summary(times[name], base)}")
        print(f"  {name + ': diagnostics of a 3-line file':<50}{summary(times[name + ' first'], base)}")
    print("  target: the initialize answer under 0.5 s")


async def main() -> None:
    options = arguments(
        __doc__.splitlines()[0],
        lambda parser: parser.add_argument("--before", metavar="CHECKOUT", help="also start the server of this netlang checkout, in turn"),
    )
    edits = 10 if options.quick else 40
    hovers = 20 if options.quick else 60
    starts = 3 if options.quick else 7
    machine_note()
    command = server_command()
    with tempfile.TemporaryDirectory() as folder:
        await startup(command, server_command(options.before) if options.before else None, starts, folder)

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "netlist.net"
        text = netlist(1000)
        path.write_text(text)
        uri = from_fs_path(str(path))
        servers = [("netlang lsp", command)] + ([("before: netlang lsp", server_command(options.before))] if options.before else [])
        clients = []
        for name, server in servers:
            client, _, arrivals, arrived = await start(server)
            await opened(client, uri, text, arrivals, arrived)
            clients.append((name, client, arrivals, arrived))
        latencies: Dict[str, List[float]] = {name: [] for name, _ in servers}
        library, incremental = [], []
        versions = Versions()
        Analysis(text, str(path), versions)
        for version in range(2, edits + 2):
            change, text = one_weight(text, version)
            for name, client, arrivals, arrived in clients:  # the same edit to each server, in turn
                latencies[name].append(await changed(client, uri, version, change, arrivals, arrived) - DEBOUNCE_SECONDS)
            begin = time.perf_counter()
            diagnose(path, source=text)
            library.append(time.perf_counter() - begin)
            begin = time.perf_counter()
            Analysis(text, str(path), versions)  # what the server does with the change, in this process
            incremental.append(time.perf_counter() - begin)
        for name, client, _, _ in clients[1:]:
            await stop(client)
        client, arrivals, arrived = clients[0][1:]
        base = statistics.median(library)
        print(f"\ndiagnostics of a 1,000-line file after a one-weight edit, minus the {DEBOUNCE_SECONDS * 1000:.0f} ms debounce ({edits} edits)")
        print(f"  lint.diagnose in-process                {summary(library, base)}")
        print(f"  Analysis in-process, incremental parser {summary(incremental, base)}")
        for name, _ in servers:
            print(f"  {name + ' over stdio':<40}{summary(latencies[name], base)}")
        print("  target: p95 within 50 ms")

        analysis = Analysis(text, str(path))
        lines = text.split("\n")
        positions = [(i, 5) for i in range(2, len(lines) - 2, max(1, (len(lines) - 4) // hovers))][:hovers]
        answered, local = [], []
        for line, column in positions:
            begin = time.perf_counter()
            answer = await client.text_document_hover_async(
                types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(line, column))
            )
            answered.append(time.perf_counter() - begin)
            assert answer is not None and "sigmoid(" in answer.contents.value
            begin = time.perf_counter()
            analysis.hover(line + 1, column + 1)
            local.append(time.perf_counter() - begin)
        base = statistics.median(local)
        print(f"\nhover on a node of the same file ({len(positions)} hovers)")
        print(f"  Analysis.hover in-process median {fmt_time(base):>10}  1.00x")
        print(f"  netlang lsp over stdio    median {fmt_time(statistics.median(answered)):>10}  {statistics.median(answered) / base:.2f}x"
              f"   p95 {fmt_time(percentile(answered, 0.95))}")
        print("  target: within 20 ms")

        # A 10,000-line file: its diagnostics after opening, then hovers on it.
        big_path = Path(folder) / "big.net"
        big = netlist(10_000)
        big_path.write_text(big)
        big_uri = from_fs_path(str(big_path))
        sent = time.perf_counter()
        await opened(client, big_uri, big, arrivals, arrived)
        open_time = arrivals[1] - sent
        big_hovers = []
        for line in range(100, 10_000, 10_000 // (hovers // 2)):
            begin = time.perf_counter()
            await client.text_document_hover_async(
                types.HoverParams(types.TextDocumentIdentifier(big_uri), types.Position(line, 5))
            )
            big_hovers.append(time.perf_counter() - begin)
        big_edits = []
        for version in range(1000, 1000 + edits // 4):  # versions apart from the 1,000-line file's
            change, big = one_weight(big, version)
            big_edits.append(await changed(client, big_uri, version, change, arrivals, arrived) - DEBOUNCE_SECONDS)
        print("\na 10,000-line file")
        print(f"  open to its diagnostics        {fmt_time(open_time):>10}")
        print(f"  hover (the first builds the names) median {fmt_time(statistics.median(big_hovers))}"
              f", first {fmt_time(big_hovers[0])}, p95 {fmt_time(percentile(big_hovers, 0.95))}")
        print(f"  diagnostics after a one-weight edit, minus the debounce ({len(big_edits)} edits): "
              f"median {fmt_time(statistics.median(big_edits))}, p95 {fmt_time(percentile(big_edits, 0.95))}")
        await stop(client)


if __name__ == "__main__":
    asyncio.run(main())
