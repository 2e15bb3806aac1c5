"""Start a moto server on 127.0.0.1 with an OS-chosen port for the test suite.

Prints the port on the first line of stdout, then serves until its standard input
closes, so the server never outlives the test process that started it.

S3 makes a conditional create (`PutObject` with `If-None-Match: *`) atomic. moto checks the
condition and then writes without holding a lock, so two concurrent conditional puts of one
key can both succeed there. The launcher serializes conditional puts so that the emulator
keeps S3's semantics; every other request runs concurrently as usual.
"""
import sys
import threading

from werkzeug.serving import make_server

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

_conditional = threading.Lock()


def main() -> None:
    app = DomainDispatcherApplication(create_backend_app)

    def serialized(environ, start_response):
        if environ.get("REQUEST_METHOD") == "PUT" and environ.get("HTTP_IF_NONE_MATCH"):
            with _conditional:
                return list(app(environ, start_response))
        return app(environ, start_response)

    server = make_server("127.0.0.1", 0, serialized, True, request_handler=MotoRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    print(server.server_address[1], flush=True)
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
