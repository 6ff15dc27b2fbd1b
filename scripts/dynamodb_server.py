"""The local DynamoDB-compatible server for the tests: moto, one request at a time.

`moto_server` handles requests on many threads without locking its tables, so two
concurrent conditional writes can both pass their condition inside moto. Real
DynamoDB never allows that, and the race tests (concurrent creates, refresh-token
rotation) depend on it. Serving one request at a time restores the per-request
atomicity DynamoDB guarantees. (Single-threaded werkzeug speaks HTTP/1.0, so no
client can hold the server with an idle keep-alive connection.)

Usage: python dynamodb_server.py HOST PORT
"""
import sys

from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, app, threaded=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
