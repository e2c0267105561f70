"""Warehouse stock for the scan benchmark: 100,000 devices and 100,000 SIM cards
(Luhn-valid IMEIs and ICCIDs, deterministic), half of them paired, plus one
invoice with a 50-device order to scan into.

    python -m bench.generate_inventory [--database-url URL] [--count 100000]

Runs on the database `bench.generate` filled (the embedded one by default)."""
from __future__ import annotations

import argparse
import time
import uuid

import psycopg

from app.fulfillment.codes import luhn_check_digit
from bench.generate import libpq_url, start_bench_postgres

BENCH_INVOICE = "INV-BENCH-00001"


def imei(n: int) -> str:
    base = f"86280405{n:06d}"
    return base + luhn_check_digit(base)


def iccid(n: int) -> str:
    base = f"890141032{n:09d}"
    return base + luhn_check_digit(base)


def fill(conn: psycopg.Connection, count: int) -> None:
    if conn.execute("SELECT count(*) FROM devices").fetchone()[0]:
        raise SystemExit("bench.generate_inventory: devices already exist; nothing done")
    started = time.perf_counter()
    sim_ids = [uuid.uuid5(uuid.NAMESPACE_OID, f"sim-{n}") for n in range(count)]
    with conn.cursor().copy("COPY sim_cards (id, iccid, carrier, status) FROM STDIN") as copy:
        for n, sim_id in enumerate(sim_ids):
            copy.write_row((sim_id, iccid(n), ("AT&T", "T-Mobile", "Verizon")[n % 3], "IN_STOCK"))
    with conn.cursor().copy("COPY devices (id, serial_number, imei, model, status, sim_card_id) FROM STDIN") as copy:
        for n in range(count):
            copy.write_row((uuid.uuid5(uuid.NAMESPACE_OID, f"device-{n}"), f"GL300-B{n:07d}", imei(n), "GL300",
                            "IN_STOCK", sim_ids[n] if n % 2 == 0 else None))
    company_id = conn.execute("SELECT id FROM companies ORDER BY id LIMIT 1").fetchone()[0]
    invoice_id = conn.execute(
        "INSERT INTO invoices (company_id, invoice_number, subtotal, total, balance_due) "
        "VALUES (%s, %s, 3950, 3950, 0) RETURNING id", (company_id, BENCH_INVOICE)).fetchone()[0]
    conn.execute("INSERT INTO invoice_line_items (invoice_id, description, quantity, unit_price, total, product_code) "
                 "VALUES (%s, 'GL300', 50, 79, 3950, 'GL300')", (invoice_id,))
    conn.execute("INSERT INTO fulfillment_orders (invoice_id, company_id, device_count, status) "
                 "VALUES (%s, %s, 50, 'PICKING')", (invoice_id, company_id))
    conn.execute("ANALYZE devices; ANALYZE sim_cards")
    conn.commit()
    print(f"bench.generate_inventory: {count:,} devices and {count:,} SIM cards in "
          f"{time.perf_counter() - started:.1f} s; order for {BENCH_INVOICE}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.generate_inventory")
    parser.add_argument("--database-url")
    parser.add_argument("--count", type=int, default=100_000)
    args = parser.parse_args()
    url = args.database_url
    if not url:
        _server, url = start_bench_postgres()
    with psycopg.connect(libpq_url(url)) as conn:
        fill(conn, args.count)


if __name__ == "__main__":
    main()
