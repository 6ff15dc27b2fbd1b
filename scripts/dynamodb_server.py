"""The local DynamoDB-compatible server for the tests: moto, one request at a time.

`moto_server` handles requests on many threads without locking its tables, so two
concurrent conditional writes can both pass their condition inside moto. Real
DynamoDB never allows that, and the race tests (concurrent creates, refresh-token
rotation) depend on it. Serving one request at a time restores the per-request
atomicity DynamoDB guarantees. (Single-threaded werkzeug speaks HTTP/1.0, so no
client can hold the server with an idle keep-alive connection.)

moto 5.2.5 also deep-copies every table a transaction names, to roll back a
cancelled one: each TransactWriteItems costs time in proportion to the table's
size, and the soak's thousands of refresh-token rotations slow to a crawl. With
--item-rollback a transaction backs up only the items it names and restores exactly
those when it is cancelled: the same all-or-nothing result (requests are serialised,
so nothing else can touch those items meanwhile), at a cost independent of the
table's size. It is opt-in because it also changes the timing the other tests were
tuned on.

Usage: python dynamodb_server.py HOST PORT [--item-rollback]
"""
import copy
import sys

from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


class _CopyTablesByReference:
    """`copy` as moto's DynamoDB backend sees it: whole tables are not copied."""

    copy = staticmethod(copy.copy)

    @staticmethod
    def deepcopy(value, memo=None):
        from moto.dynamodb.models.table import Table

        if isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)


def _with_item_rollback(transact_write_items):
    def transact_write_items_rolling_back_items(self, transact_items):
        backups = []
        for entry in transact_items:
            operation = next(iter(entry.values()), {})
            table = self.tables.get(operation.get("TableName"))
            if table is None:
                continue
            key = operation.get("Key") or {
                name: operation.get("Item", {}).get(name)
                for name in (table.hash_key_attr, table.range_key_attr)
                if name
            }
            try:
                hash_value, range_value = self.get_keys_value(table, key)
            except Exception:
                continue  # an invalid key: the transaction refuses it before writing
            item = copy.deepcopy(table.get_item(hash_value, range_value))
            backups.append((table, hash_value, range_value, item))
        try:
            return transact_write_items(self, transact_items)
        except Exception:
            for table, hash_value, range_value, item in reversed(backups):
                if range_value is None:
                    if item is None:
                        table.items.pop(hash_value, None)
                    else:
                        table.items[hash_value] = item
                elif item is None:
                    table.items.get(hash_value, {}).pop(range_value, None)
                else:
                    table.items[hash_value][range_value] = item
            raise

    return transact_write_items_rolling_back_items


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    if "--item-rollback" in sys.argv[3:]:
        import moto.dynamodb.models as dynamodb_models

        dynamodb_models.copy = _CopyTablesByReference
        dynamodb_models.DynamoDBBackend.transact_write_items = _with_item_rollback(
            dynamodb_models.DynamoDBBackend.transact_write_items
        )
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, app, threaded=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
