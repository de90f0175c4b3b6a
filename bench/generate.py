"""A deterministic event log in the shape of the public e-commerce dataset, generated with numpy.

`event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session`, with
`event_time` like `2019-10-01 00:00:00 UTC`, `event_type` in view / cart / remove_from_cart /
purchase and the price on every event, as in the public log (see ../shared/formats/).

The funnel is a shop's: a session is a run of product views (about five on average), a minority of
sessions put the last viewed product in the cart, some of those take it out again and about half of
the others buy it. Users come back: a user's sessions are spread over the month. Products follow a
Zipf-like popularity, with about a third lacking a category code and a sixth lacking a brand, as in
the real data.

The file is written chunk by chunk (memory does not grow with the row count) and is the same for
the same size and seed: each chunk draws from its own generator, seeded by (seed, chunk index).

    python -m bench.generate 1000000 /tmp/events-1m.csv
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

COLUMNS = [
    "event_time",
    "event_type",
    "product_id",
    "category_id",
    "category_code",
    "brand",
    "price",
    "user_id",
    "user_session",
]
EVENT_TYPES = np.array(["view", "cart", "remove_from_cart", "purchase"], dtype=object)
VIEW, CART, REMOVE, PURCHASE = range(4)

CATEGORY_CODES = [
    "electronics.smartphone",
    "electronics.audio.headphone",
    "electronics.video.tv",
    "electronics.clocks",
    "computers.notebook",
    "computers.desktop",
    "computers.peripherals.mouse",
    "appliances.kitchen.washer",
    "appliances.kitchen.refrigerators",
    "appliances.environment.vacuum",
    "apparel.shoes",
    "apparel.shoes.keds",
    "furniture.living_room.sofa",
    "furniture.bedroom.bed",
    "kids.toys",
    "auto.accessories.player",
    "sport.bicycle",
    "accessories.bag",
    "construction.tools.drill",
    "country_yard.lawn_mower",
]
BRANDS = [
    "samsung",
    "apple",
    "xiaomi",
    "huawei",
    "lg",
    "sony",
    "lenovo",
    "acer",
    "bosch",
    "respect",
    "lucente",
    "cordiant",
    "elenberg",
    "indesit",
    "artel",
    "oppo",
    "philips",
    "nike",
    "adidas",
    "redmond",
]

START = np.datetime64("2019-10-01T00:00:00", "s")
MONTH_SECONDS = 31 * 24 * 3600
CHUNK_ROWS = 500_000
EVENTS_PER_USER = 14  # the public log: ~42M events by ~3M users
PRODUCTS = 50_000
HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
DASHES = (8, 13, 18, 23)  # where a UUID's text has its dashes


def _catalogue(seed: int) -> dict[str, np.ndarray]:
    """The products: id, category, code, brand and price in cents (the same for every chunk)."""
    rng = np.random.default_rng([seed, 0xCA7A])
    categories = rng.integers(0, len(CATEGORY_CODES) * 3, PRODUCTS)
    # a third of the categories have no code, as in the public log
    code_of_category = np.array(
        [CATEGORY_CODES[c // 3] if c % 3 else "" for c in range(len(CATEGORY_CODES) * 3)],
        dtype=object,
    )
    brand_index = rng.integers(0, len(BRANDS) + 4, PRODUCTS)  # about one in six without a brand
    brands = np.array([*BRANDS, "", "", "", ""], dtype=object)[brand_index]
    price_cents = np.round(np.exp(rng.normal(4.3, 1.2, PRODUCTS)) * 100).astype(np.int64) + 88
    return {
        "product_id": 1_000_000 + rng.permutation(PRODUCTS * 10)[:PRODUCTS],
        "category_id": 2_053_013_552_226_107_603 + categories * 1_000_003,
        "category_code": code_of_category[categories],
        "brand": brands,
        "price_cents": price_cents,
    }


def _uuids(rng: np.random.Generator, count: int) -> pa.Array:
    """`count` random UUID-4-looking texts (36 characters, lower-case hex with dashes)."""
    nibbles = rng.integers(0, 16, (count, 32), dtype=np.uint8)
    text = np.empty((count, 36), dtype=np.uint8)
    columns = [position for position in range(36) if position not in DASHES]
    text[:, columns] = HEX[nibbles]
    text[:, list(DASHES)] = ord("-")
    text[:, 14] = ord("4")
    flat = pa.py_buffer(text.tobytes())
    offsets = pa.py_buffer(np.arange(0, 36 * (count + 1), 36, dtype=np.int32).tobytes())
    return pa.Array.from_buffers(pa.string(), count, [None, offsets, flat])


def _prices(cents: np.ndarray) -> pa.Array:
    """Prices as the log writes them: two decimals (489.07, 5.00)."""
    whole = pc.cast(pa.array(cents // 100), pa.string())
    fraction = pc.utf8_lpad(pc.cast(pa.array(cents % 100), pa.string()), 2, "0")
    return pc.binary_join_element_wise(whole, fraction, ".")


def _chunk(rows: int, index: int, chunks: int, total: int, seed: int, catalogue: dict) -> pa.Table:
    """`rows` events of chunk `index`: sessions starting in its slice of the month."""
    rng = np.random.default_rng([seed, index])
    users = max(total // EVENTS_PER_USER, 1)
    # sessions: views ~ 1 + geometric; a cart in 1 of 6 sessions, then a removal (1 in 4) or a
    # purchase (1 in 2) of the product in the cart
    sessions = max(int(rows / 5.5) + 16, 16)
    views = rng.geometric(0.22, sessions)
    carts = rng.random(sessions) < 0.17
    after = rng.random(sessions)
    removes = carts & (after < 0.25)
    purchases = carts & (after >= 0.25) & (after < 0.75)
    counts = views + carts + removes + purchases
    ends = np.cumsum(counts)
    while ends[-1] < rows:  # rare: draw more sessions of views until the chunk is full
        views = np.append(views, 5)
        carts, removes, purchases = (np.append(a, False) for a in (carts, removes, purchases))
        counts = np.append(counts, 5)
        ends = np.append(ends, ends[-1] + 5)
    sessions = int(np.searchsorted(ends, rows) + 1)
    views, carts, removes, purchases, counts = (
        a[:sessions] for a in (views, carts, removes, purchases, counts)
    )
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])

    # who and when: returning users (a skewed draw), session starts in this chunk's time slice
    user = (users * rng.power(0.6, sessions)).astype(np.int64)
    user_ids = 512_000_000 + (user * 7919) % (users * 10)
    slice_seconds = MONTH_SECONDS / chunks
    session_start = np.sort(
        rng.uniform(index * slice_seconds, (index + 1) * slice_seconds, sessions)
    )

    session_of_row = np.repeat(np.arange(sessions), counts)[:rows]
    step = np.arange(rows) - starts[session_of_row]
    views_of_row = views[session_of_row]
    kind = np.full(rows, VIEW, dtype=np.int8)
    after_views = step - views_of_row  # 0 for the cart, then removal or purchase
    kind[after_views == 0] = CART
    second = after_views == 1
    kind[second & removes[session_of_row]] = REMOVE
    kind[second & purchases[session_of_row]] = PURCHASE

    # products: a popular one for each view; the cart, removal and purchase take the last viewed
    popularity = np.minimum(rng.zipf(1.3, rows) - 1, PRODUCTS - 1)
    product = (popularity * 2_654_435_761) % PRODUCTS
    last_view = starts[session_of_row] + views_of_row - 1
    product = np.where(kind == VIEW, product, product[np.minimum(last_view, rows - 1)])

    gaps = rng.exponential(45.0, rows).astype(np.int64) + 1
    gaps[step == 0] = 0
    elapsed = np.cumsum(gaps)
    elapsed -= elapsed[starts[session_of_row]]  # seconds since the session's first event
    seconds = np.minimum(
        session_start[session_of_row].astype(np.int64) + elapsed, MONTH_SECONDS - 1
    )
    order = np.argsort(seconds, kind="stable")

    event_time = pa.array((START + seconds[order]).astype("datetime64[s]"))
    session_ids = _uuids(rng, sessions)
    picked = session_of_row[order]
    product = product[order]
    return pa.table(
        {
            "event_time": pc.strftime(event_time, format="%Y-%m-%d %H:%M:%S UTC"),
            "event_type": pa.array(EVENT_TYPES[kind[order]], type=pa.string()),
            "product_id": pa.array(catalogue["product_id"][product]),
            "category_id": pa.array(catalogue["category_id"][product]),
            "category_code": pa.array(catalogue["category_code"][product], type=pa.string()),
            "brand": pa.array(catalogue["brand"][product], type=pa.string()),
            "price": _prices(catalogue["price_cents"][product]),
            "user_id": pa.array(user_ids[picked]),
            "user_session": session_ids.take(pa.array(picked)),
        }
    )


def generate(rows: int, path: Path, *, seed: int = 2019, chunk_rows: int = CHUNK_ROWS) -> Path:
    """Write `rows` events to `path` (CSV with a header), chunk by chunk; the same for a seed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    catalogue = _catalogue(seed)
    chunks = max(1, -(-rows // chunk_rows))
    options = pacsv.WriteOptions(quoting_style="none", quoting_header="none")
    schema = None
    writer = None
    try:
        for index in range(chunks):
            size = min(chunk_rows, rows - index * chunk_rows)
            table = _chunk(size, index, chunks, rows, seed, catalogue)
            if writer is None:
                schema = table.schema
                writer = pacsv.CSVWriter(str(path), schema, write_options=options)
            writer.write_table(table.cast(schema))
    finally:
        if writer is not None:
            writer.close()
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rows", type=int, help="how many events")
    parser.add_argument("path", type=Path, help="the CSV file to write")
    parser.add_argument("--seed", type=int, default=2019)
    arguments = parser.parse_args(argv)
    generate(arguments.rows, arguments.path, seed=arguments.seed)
    print(arguments.path)


if __name__ == "__main__":
    main()
