"""Serve the sample CAVE service in the foreground: ``python -m microns_helpers.sample``."""

import argparse
import signal
import threading

from .server import SampleService


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m microns_helpers.sample",
        description="Serve the sample CAVE service on 127.0.0.1 until Ctrl-C.",
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: free)")
    parser.add_argument("--token", default=None, help="require this token (default: none)")
    parser.add_argument(
        "--bulk-metadata-without-reference",
        action="store_true",
        help="omit nucleus_detection_v0 from the bulk metadata (caveclient 5.17.1-5.23.0 "
        "then hits its RecursionError)",
    )
    args = parser.parse_args(argv)
    # Ctrl-C (and a plain kill) asks the service to stop, whenever it comes: handled here
    # rather than as a KeyboardInterrupt, which could land inside a print or the start-up,
    # and set even where the shell that started this ignores SIGINT (a background job).
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    with SampleService(
        port=args.port,
        required_token=args.token,
        bulk_metadata_without_reference=args.bulk_metadata_without_reference,
    ) as s:
        print(f"Sample CAVE service (minnie65_public sample data) at {s.url}", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        while not stopping.wait(1.0):
            pass
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
