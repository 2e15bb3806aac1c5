"""Start a moto server on 127.0.0.1 with an OS-chosen port for the test suite.

Prints the port on the first line of stdout, then serves until its standard input
closes, so the server never outlives the test process that started it.
"""
import sys

from moto.server import ThreadedMotoServer


def main() -> None:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    print(port, flush=True)
    sys.stdin.read()
    server.stop()


if __name__ == "__main__":
    main()
