#!/usr/bin/env python3
"""Cross-check a Kafka partition directory with an independent implementation.

Decodes every record batch of every segment (`<20 digits>.log`) of the given partition
directories with kafka-python's `kafka.record.default_records.DefaultRecordBatch` and checks:

- each batch is magic 2, its CRC-32C is valid, its records decode and number recordsCount;
- record offsets are contiguous within and across batches and segments, and each segment's
  first batch starts at the base offset in its file name;
- for uncompressed batches, rebuilding the batch from its decoded records with kafka-python's
  own encoder (`DefaultRecordBatchBuilder`) gives back exactly the same bytes (base offset and
  partition leader epoch, which the broker assigns, copied over);
- every `.index` entry points at a batch start whose last offset is the entry's offset, and
  `.timeindex` entries rise.

A truncated batch at the end of the last segment (a live broker) and zero padding at the end
of a segment are reported and accepted.

Usage: scripts/check-kafka-format.py PARTITION_DIR [PARTITION_DIR ...]
Needs kafka-python (`pip install kafka-python`). Exit status: 0 all good, 1 a check failed,
2 bad usage or kafka-python missing.
"""

import os
import re
import struct
import sys

try:
    from kafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder
except ImportError:
    sys.stderr.write(
        "check-kafka-format: kafka-python is not installed: run `pip install kafka-python`\n"
    )
    sys.exit(2)

SEGMENT_RE = re.compile(r"^(\d{20})\.log$")
LOG_OVERHEAD = 12
HEADER_LEN = 61


def records_count(batch, raw):
    """recordsCount: the attribute in kafka-python >= 2.0.3, the header's last field before."""
    return header_field(batch, "records_count", raw, ">i", HEADER_LEN - 4)


def header_field(batch, name, raw, fmt, at):
    """A header field: the attribute in newer kafka-python, else read at its byte position."""
    v = getattr(batch, name, None)
    return v if v is not None else struct.unpack_from(fmt, raw, at)[0]


def last_offset(batch):
    """The batch's last offset (baseOffset + lastOffsetDelta; older kafka-python lacks it)."""
    return batch.base_offset + batch.last_offset_delta


class Failure(Exception):
    """A check failed; the message names the file and byte position."""


def segments(partition_dir):
    out = []
    for name in os.listdir(partition_dir):
        m = SEGMENT_RE.match(name)
        if m:
            out.append((int(m.group(1)), os.path.join(partition_dir, name)))
    return sorted(out)


def read_index(path, entry_len, fmt):
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        data = f.read()
    if len(data) % entry_len:
        raise Failure(f"{path}: length {len(data)} is not a multiple of {entry_len}")
    entries = [struct.unpack_from(fmt, data, i) for i in range(0, len(data), entry_len)]
    while entries and all(v == 0 for v in entries[-1]):  # a live index's preallocated tail
        entries.pop()
    return entries


def rebuild(batch, raw, records):
    """Re-encode a batch from its decoded records with kafka-python's encoder."""
    builder = DefaultRecordBatchBuilder(
        magic=2,
        compression_type=0,
        is_transactional=batch.is_transactional,
        producer_id=header_field(batch, "producer_id", raw, ">q", 43),
        producer_epoch=header_field(batch, "producer_epoch", raw, ">h", 51),
        base_sequence=header_field(batch, "base_sequence", raw, ">i", 53),
        batch_size=1 << 31,
    )
    for r in records:
        headers = [(k, v) for k, v in r.headers]
        if builder.append(r.offset - batch.base_offset, r.timestamp, r.key, r.value, headers) is None:
            raise Failure("kafka-python's builder refused a record")
    return bytes(builder.build())


def check_partition(partition_dir):
    segs = segments(partition_dir)
    if not segs:
        raise Failure(f"{partition_dir}: no segment (.log) files")
    totals = {"segments": len(segs), "batches": 0, "records": 0, "bytes": 0,
              "rebuilt_identical": 0, "index_entries": 0, "time_index_entries": 0}
    expected = None
    first_offset = None
    for i, (base, log_path) in enumerate(segs):
        last_segment = i == len(segs) - 1
        with open(log_path, "rb") as f:
            data = f.read()
        if expected is not None and base != expected:
            raise Failure(f"{log_path}: base offset {base}, previous segment ends at {expected}")
        starts = {}  # batch position -> last offset
        max_ts = -1
        pos = 0
        while pos < len(data):
            rest = data[pos:pos + HEADER_LEN]
            if not any(rest):
                print(f"  {os.path.basename(log_path)}: zero padding from byte {pos}")
                break
            if len(data) - pos < HEADER_LEN:
                size = None
            else:
                size = LOG_OVERHEAD + struct.unpack_from(">i", data, pos + 8)[0]
            if size is None or pos + size > len(data):
                if not last_segment:
                    raise Failure(f"{log_path}@{pos}: truncated batch in an inactive segment")
                print(f"  {os.path.basename(log_path)}: truncated last batch at byte {pos} "
                      f"({len(data) - pos} bytes, live broker or crash)")
                break
            raw = data[pos:pos + size]
            batch = DefaultRecordBatch(raw)
            where = f"{log_path}@{pos}"
            if batch.magic != 2:
                raise Failure(f"{where}: magic {batch.magic}")
            if not batch.validate_crc():
                raise Failure(f"{where}: CRC mismatch (stored {batch.crc:#010x})")
            if expected is None:
                expected = base
                first_offset = batch.base_offset
            if batch.base_offset != expected:
                raise Failure(f"{where}: base offset {batch.base_offset}, expected {expected}")
            records = list(batch)
            count = records_count(batch, raw)
            if len(records) != count:
                raise Failure(f"{where}: {len(records)} records, header says {count}")
            for k, r in enumerate(records):
                if r.offset != expected + k:
                    raise Failure(f"{where}: record {k} has offset {r.offset}, expected {expected + k}")
            if last_offset(batch) != expected + len(records) - 1:
                raise Failure(f"{where}: lastOffsetDelta {batch.last_offset_delta} does not match")
            if batch.compression_type == 0:
                again = bytearray(rebuild(batch, raw, records))
                again[0:8] = raw[0:8]      # baseOffset: assigned by the broker
                again[12:16] = raw[12:16]  # partitionLeaderEpoch: assigned by the broker
                if bytes(again) != raw:
                    diff = next((j for j in range(min(len(raw), len(again))) if raw[j] != again[j]),
                                min(len(raw), len(again)))
                    raise Failure(f"{where}: kafka-python encodes these records differently "
                                  f"(first difference at batch byte {diff}; lengths "
                                  f"{len(raw)} vs {len(again)})")
                totals["rebuilt_identical"] += 1
            starts[pos] = last_offset(batch)
            max_ts = max(max_ts, batch.max_timestamp)
            expected = last_offset(batch) + 1
            totals["batches"] += 1
            totals["records"] += len(records)
            totals["bytes"] += size
            pos += size
        stem = log_path[:-len(".log")]
        for k, (rel, ipos) in enumerate(read_index(stem + ".index", 8, ">ii")):
            if ipos not in starts:
                if last_segment and ipos == pos:
                    continue  # indexes the truncated batch being written
                raise Failure(f"{stem}.index@{8 * k}: position {ipos} is not a batch start")
            if starts[ipos] != base + rel:
                raise Failure(f"{stem}.index@{8 * k}: offset {base + rel}, batch's last offset "
                              f"is {starts[ipos]}")
            totals["index_entries"] += 1
        prev = None
        for k, (ts, rel) in enumerate(read_index(stem + ".timeindex", 12, ">qi")):
            if prev is not None and (ts <= prev[0] or rel < prev[1]):
                raise Failure(f"{stem}.timeindex@{12 * k}: ({ts}, {rel}) after {prev}")
            if ts > max_ts and pos == len(data):
                raise Failure(f"{stem}.timeindex@{12 * k}: timestamp {ts} above the segment's max")
            prev = (ts, rel)
            totals["time_index_entries"] += 1
    totals["first_offset"] = first_offset if first_offset is not None else segs[0][0]
    totals["next_offset"] = expected if expected is not None else segs[-1][0]
    return totals


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        sys.stderr.write(__doc__)
        return 2
    failed = False
    for d in argv[1:]:
        if not os.path.isdir(d):
            sys.stderr.write(f"check-kafka-format: {d} is not a directory\n")
            return 2
        print(f"{d}:")
        try:
            t = check_partition(d)
        except Failure as e:
            print(f"  FAIL: {e}")
            failed = True
            continue
        print("  OK: {segments} segments, {batches} batches, {records} records, {bytes} bytes, "
              "offsets {first_offset}..{next_offset}, {rebuilt_identical} batches re-encoded "
              "byte-identical by kafka-python, {index_entries} index and {time_index_entries} "
              "time index entries checked".format(**t))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
