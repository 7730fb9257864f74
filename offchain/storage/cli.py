"""``l2kit storage ...``: run the blob store, put and get blobs."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console

from offchain.cli_common import blob_json, from_config, print_json, stop_on_signal, wait_for_signal
from offchain.storage.store import DEFAULT_MAX_BYTES

app = typer.Typer(no_args_is_help=True)
URL = typer.Option(
    None, "--url", envvar="L2KIT_STORAGE_URL", help="default: config network.storage_url"
)


@app.command("serve")
def serve(
    data_dir: Path = typer.Option(Path(".devnet/blobs"), "--data-dir", help="where blobs live"),
    port: int = typer.Option(None, "--port", help="default: config devnet.storage_port"),
    host: str = typer.Option("127.0.0.1", "--host"),
    max_bytes: int = typer.Option(DEFAULT_MAX_BYTES, "--max-bytes", help="largest blob accepted"),
) -> None:
    """Serve the content-addressed blob store over HTTP until Ctrl-C/SIGTERM."""
    from offchain.storage.server import StorageServer

    console = Console(soft_wrap=True)
    port = from_config(port, "devnet.storage_port")
    stop = stop_on_signal()
    server = StorageServer(data_dir, host=host, port=port, max_bytes=max_bytes).start()
    try:
        console.print(f"storage    {server.url}  (data in {data_dir}, max {max_bytes} bytes)")
        console.print("press Ctrl-C to stop")
        wait_for_signal(stop)
    finally:
        server.stop()
    console.print("storage stopped")


@app.command("put")
def put(
    file: Path = typer.Argument(..., help="file to store ('-' for stdin)"),
    url: str = URL,
) -> None:
    """Store FILE and print its key."""
    from offchain.errors import ConfigError
    from offchain.storage.client import BlobClient

    if str(file) == "-":
        data = sys.stdin.buffer.read()
    else:
        try:
            data = file.read_bytes()
        except OSError as e:
            raise ConfigError(f"cannot read {file}: {e.strerror}") from e
    print(BlobClient(from_config(url, "network.storage_url")).put(data))


@app.command("get")
def get(
    key: str = typer.Argument(..., help="blob key (0x + 64 hex digits)"),
    out: Path = typer.Option(None, "--out", "-o", help="write here instead of stdout"),
    url: str = URL,
    as_json: bool = typer.Option(
        False, "--json", help="print {key, bytes, hex, text} (text: null unless UTF-8)"
    ),
) -> None:
    """Fetch blob KEY (checked against its hash)."""
    from offchain.storage.client import BlobClient

    data = BlobClient(from_config(url, "network.storage_url")).get(key)
    if as_json:
        print_json(blob_json(data, key=key))
    elif out is None:
        sys.stdout.buffer.write(data)
    else:
        out.write_bytes(data)
