"""DuckDB storage: videos, jobs, job events, segments, places, geocode cache, corrections.

One process writes the file (DuckDB's rule). Inside the process every call
goes through one connection guarded by a lock: queries are small, and a
single serialised connection avoids write-write conflicts between worker
threads. The schema is versioned (``schema_version`` table) and migrated
forward on open.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from ..datatypes import GeoHit, Place, Segment
from ..errors import ConfigurationError, DatabaseLockedError

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 3

_MIGRATIONS: dict[int, list[str]] = {
    1: [
        """CREATE TABLE IF NOT EXISTS videos (
            video_id VARCHAR PRIMARY KEY, platform VARCHAR, title VARCHAR, url VARCHAR,
            duration DOUBLE, language VARCHAR, subtitle_kind VARCHAR, content_hash VARCHAR,
            metadata JSON, created_at DOUBLE, updated_at DOUBLE)""",
        """CREATE TABLE IF NOT EXISTS source_videos (
            source VARCHAR, video_id VARCHAR, fingerprint VARCHAR, updated_at DOUBLE,
            PRIMARY KEY (source, video_id))""",
        """CREATE TABLE IF NOT EXISTS jobs (
            job_id VARCHAR PRIMARY KEY, source VARCHAR NOT NULL, video_id VARCHAR,
            parent_job_id VARCHAR, strategy_version VARCHAR NOT NULL, status VARCHAR NOT NULL,
            phase VARCHAR, progress DOUBLE DEFAULT 0, priority INTEGER DEFAULT 10,
            options JSON, metrics JSON, error_type VARCHAR, error_message VARCHAR,
            created_at DOUBLE, started_at DOUBLE, finished_at DOUBLE, updated_at DOUBLE)""",
        """CREATE TABLE IF NOT EXISTS job_events (
            job_id VARCHAR, ts DOUBLE, phase VARCHAR, event VARCHAR, message VARCHAR,
            elapsed_ms DOUBLE, data JSON)""",
        """CREATE TABLE IF NOT EXISTS results (
            video_id VARCHAR, strategy_version VARCHAR, job_id VARCHAR, summary VARCHAR,
            topics JSON, extractor VARCHAR, transcript_origin VARCHAR, dropped_ungrounded INTEGER,
            tokens_in INTEGER, tokens_out INTEGER, cost DOUBLE, created_at DOUBLE,
            PRIMARY KEY (video_id, strategy_version))""",
        """CREATE TABLE IF NOT EXISTS segments (
            video_id VARCHAR, strategy_version VARCHAR, idx INTEGER, start_s DOUBLE, end_s DOUBLE,
            text VARCHAR, PRIMARY KEY (video_id, strategy_version, idx))""",
        """CREATE TABLE IF NOT EXISTS places (
            place_id VARCHAR PRIMARY KEY, video_id VARCHAR, strategy_version VARCHAR, job_id VARCHAR,
            idx INTEGER, place_key VARCHAR, name VARCHAR, description VARCHAR, start_seconds DOUBLE,
            tags JSON, marker VARCHAR, evidence VARCHAR, confidence DOUBLE, latitude DOUBLE,
            longitude DOUBLE, geocoder VARCHAR, gazetteer_id VARCHAR, country_code VARCHAR,
            status VARCHAR, failure_reason VARCHAR, updated_at DOUBLE)""",
        """CREATE TABLE IF NOT EXISTS geocode_cache (
            cache_key VARCHAR PRIMARY KEY, geocoder VARCHAR, query VARCHAR, found BOOLEAN,
            hit JSON, created_at DOUBLE)""",
        """CREATE TABLE IF NOT EXISTS corrections (
            video_id VARCHAR, place_key VARCHAR, name VARCHAR, latitude DOUBLE, longitude DOUBLE,
            rejected BOOLEAN, visited BOOLEAN, note VARCHAR, updated_at DOUBLE,
            PRIMARY KEY (video_id, place_key))""",
    ],
    # 2: who runs a job (coordinator id + heartbeat), so a job whose owner is gone is re-queued by
    # whichever process opens the database next; stored first answers of Idempotency-Key POSTs.
    2: [
        "ALTER TABLE jobs ADD COLUMN IF NOT EXISTS owner VARCHAR",
        "ALTER TABLE jobs ADD COLUMN IF NOT EXISTS heartbeat_at DOUBLE",
        """CREATE TABLE IF NOT EXISTS idempotency_keys (
            scope VARCHAR, key VARCHAR, status_code INTEGER, body JSON, created_at DOUBLE,
            PRIMARY KEY (scope, key))""",
    ],
    # 3: the analyst's review (workbench): audit trail of corrections, places the analyst added,
    # finished jobs cleared from the Jobs list (the rows stay for the metrics).
    3: [
        """CREATE TABLE IF NOT EXISTS correction_log (
            video_id VARCHAR, place_key VARCHAR, changed_at DOUBLE, who VARCHAR, action VARCHAR,
            before JSON, after JSON)""",
        """CREATE TABLE IF NOT EXISTS added_places (
            video_id VARCHAR, place_key VARCHAR, name VARCHAR, start_seconds DOUBLE, evidence VARCHAR,
            marker VARCHAR, latitude DOUBLE, longitude DOUBLE, gazetteer_id VARCHAR, country_code VARCHAR,
            who VARCHAR, created_at DOUBLE, PRIMARY KEY (video_id, place_key))""",
        """CREATE TABLE IF NOT EXISTS cleared_jobs (job_id VARCHAR PRIMARY KEY, cleared_at DOUBLE)""",
    ],
}

JOB_COLUMNS = (
    "job_id source video_id parent_job_id strategy_version status phase progress priority options "
    "metrics error_type error_message created_at started_at finished_at updated_at owner heartbeat_at"
).split()
PLACE_COLUMNS = (
    "place_id video_id strategy_version job_id idx place_key name description start_seconds tags "
    "marker evidence confidence latitude longitude geocoder gazetteer_id country_code status "
    "failure_reason updated_at"
).split()

ACTIVE_STATUSES = ("queued", "running")
_LOCK_RE = re.compile(r"PID (\d+)")


def place_key(name: str) -> str:
    """Stable key of a place inside one video: survives re-analysis (used by corrections)."""
    return re.sub(r"\s+", " ", name.strip().lower())


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _loads(value: Any) -> Any:
    if value is None or not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def address_file(db_path: str | Path) -> Path:
    """Where the coordinator holding ``db_path`` writes its HTTP address (beside the database)."""
    path = Path(db_path)
    return path.with_name(path.name + ".api.json")


class Storage:
    """All database access of the workbench. Thread-safe; one instance per process."""

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._lock = threading.RLock()
        self._local = threading.local()
        self._readers: dict[int, duckdb.DuckDBPyConnection] = {}  # thread id -> its read cursor
        # This process is the file's only writer, so a counter bumped by every write tells when a
        # cached read is still current (clients poll a job's status many times a second).
        self._generation = 0
        self._read_cache: dict[tuple[str, tuple[Any, ...]], tuple[int, list[dict[str, Any]]]] = {}
        self._closed = False
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(str(path), read_only=read_only)
            # DuckDB draws its own progress bar on stdout for queries over 2 s (breaks --json).
            self._con.execute("SET enable_progress_bar = false")
        except duckdb.IOException as exc:
            text = str(exc)
            if "lock" in text.lower():
                pid = _LOCK_RE.search(text)
                owner = f" (PID {pid.group(1)})" if pid else ""
                raise DatabaseLockedError(
                    f"The database {self.path} is in use by another workbench process{owner}. "
                    "Close that process (the Streamlit app or another CLI run) or use a "
                    "different file with --db PATH / VIDEOMAP_DB_PATH."
                ) from None
            raise ConfigurationError(f"Cannot open the database {self.path}: {text}") from None
        if not read_only:
            self._migrate()

    # ------------------------------------------------------------------ basics
    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for reader in self._readers.values():  # the file stays locked until every cursor is closed
                reader.close()
            self._readers.clear()
            self._con.close()

    @contextmanager
    def _tx(self):
        with self._lock:
            self._local.in_tx = True
            self._con.execute("BEGIN TRANSACTION")
            try:
                yield self._con
            except BaseException:
                self._con.execute("ROLLBACK")
                raise
            else:
                self._con.execute("COMMIT")
            finally:
                self._generation += 1
                self._local.in_tx = False

    def _reader(self) -> duckdb.DuckDBPyConnection | None:
        """This thread's own cursor for reads, so API requests and pages read in parallel
        (DuckDB runs them concurrently, without the GIL); writes stay on the one locked connection."""
        if getattr(self._local, "in_tx", False):
            return None
        ident = threading.get_ident()
        cur = self._readers.get(ident)
        if cur is None:
            with self._lock:
                if self._closed:
                    return None
                cur = self._con.cursor()
                cur.execute("SET enable_progress_bar = false")
                self._readers[ident] = cur
        return cur

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        reader = self._reader() if sql.lstrip()[:6].upper().startswith(("SELECT", "WITH")) else None
        if reader is not None:
            try:
                cur = reader.execute(sql, list(params))
                names = [d[0] for d in cur.description]
                return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
            except duckdb.ConnectionException:
                if not self._closed:
                    raise
        with self._lock:
            self._generation += 1  # may be a write (UPDATE ... RETURNING)
            cur = self._con.execute(sql, list(params))
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def _cached_all(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """``_all`` for hot status reads, answered from memory while nothing was written since."""
        key = (sql, tuple(params))
        generation = self._generation
        hit = self._read_cache.get(key)
        if hit is not None and hit[0] == generation:
            return copy.deepcopy(hit[1])
        rows = self._all(sql, params)
        if len(self._read_cache) > 512:
            self._read_cache.clear()
        self._read_cache[key] = (generation, copy.deepcopy(rows))
        return rows

    def _one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        rows = self._all(sql, params)
        return rows[0] if rows else None

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> None:
        with self._lock:
            self._generation += 1
            self._con.execute(sql, list(params))

    def _migrate(self) -> None:
        with self._lock:
            self._con.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER, applied_at DOUBLE)"
            )
            row = self._con.execute("SELECT max(version) FROM schema_version").fetchone()
            current = row[0] or 0
            if current > SCHEMA_VERSION:
                raise ConfigurationError(
                    f"The database {self.path} has schema version {current}, newer than this "
                    f"workbench ({SCHEMA_VERSION}). Upgrade the workbench or use another --db."
                )
            for version in range(current + 1, SCHEMA_VERSION + 1):
                with self._tx() as con:
                    for statement in _MIGRATIONS[version]:
                        con.execute(statement)
                    con.execute("INSERT INTO schema_version VALUES (?, ?)", [version, time.time()])
                logger.info("database schema migrated", extra={"event": "migrate", "version": version})

    def size_bytes(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:
            return 0

    # ------------------------------------------------------------------ videos
    def upsert_video(self, video: dict[str, Any]) -> None:
        now = time.time()
        with self._tx() as con:
            con.execute("DELETE FROM videos WHERE video_id = ?", [video["video_id"]])
            con.execute(
                "INSERT INTO videos VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [
                    video["video_id"], video.get("platform"), video.get("title"), video.get("url"),
                    video.get("duration"), video.get("language"), video.get("subtitle_kind"),
                    video.get("content_hash"), _dumps(video.get("metadata") or {}), now, now,
                ],
            )

    def get_video(self, video_id: str) -> dict[str, Any] | None:
        row = self._one("SELECT * FROM videos WHERE video_id = ?", [video_id])
        if row:
            row["metadata"] = _loads(row["metadata"])
        return row

    def list_videos(self) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM videos ORDER BY created_at")

    def remember_source(self, source: str, video_ids: Iterable[str], fingerprint: str) -> None:
        now = time.time()
        with self._tx() as con:
            con.execute("DELETE FROM source_videos WHERE source = ?", [source])
            for vid in video_ids:
                con.execute("INSERT INTO source_videos VALUES (?,?,?,?)", [source, vid, fingerprint, now])

    def videos_for_source(self, source: str) -> tuple[list[str], str | None]:
        rows = self._all("SELECT video_id, fingerprint FROM source_videos WHERE source = ?", [source])
        if not rows:
            return [], None
        return [r["video_id"] for r in rows], rows[0]["fingerprint"]

    # -------------------------------------------------------------------- jobs
    def create_job(
        self,
        source: str,
        strategy_version: str,
        *,
        options: dict[str, Any],
        video_id: str | None = None,
        parent_job_id: str | None = None,
        priority: int = 10,
        status: str = "queued",
    ) -> str:
        job_id = uuid.uuid4().hex[:12]
        now = time.time()
        self._exec(
            "INSERT INTO jobs (job_id, source, video_id, parent_job_id, strategy_version, status, "
            "phase, progress, priority, options, metrics, created_at, updated_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                job_id, source, video_id, parent_job_id, strategy_version, status, None,
                0.0, priority, _dumps(options), _dumps({}), now, now,
            ],
        )
        return job_id

    def find_active_job(self, source: str, strategy_version: str, video_id: str | None = None) -> str | None:
        if video_id:
            row = self._one(
                "SELECT job_id FROM jobs WHERE video_id = ? AND strategy_version = ? "
                "AND status IN ('queued','running') ORDER BY created_at LIMIT 1",
                [video_id, strategy_version],
            )
            if row:
                return row["job_id"]
        row = self._one(
            "SELECT job_id FROM jobs WHERE source = ? AND strategy_version = ? "
            "AND status IN ('queued','running') AND parent_job_id IS NULL ORDER BY created_at LIMIT 1",
            [source, strategy_version],
        )
        return row["job_id"] if row else None

    def update_job(self, job_id: str, **fields: Any) -> None:
        if not fields:
            return
        fields["updated_at"] = time.time()
        for key in ("options", "metrics"):
            if key in fields:
                fields[key] = _dumps(fields[key])
        unknown = set(fields) - set(JOB_COLUMNS)
        if unknown:
            raise ValueError(f"unknown job fields: {unknown}")
        assignments = ", ".join(f"{k} = ?" for k in fields)
        self._exec(f"UPDATE jobs SET {assignments} WHERE job_id = ?", [*fields.values(), job_id])

    def get_job(self, job_id: str, *, with_title: bool = False) -> dict[str, Any] | None:
        if with_title:  # one query for what a job's status page shows (polled: cached)
            rows = self._cached_all("SELECT *, (SELECT v.title FROM videos v WHERE v.video_id = j.video_id) "
                                    "AS video_title FROM jobs j WHERE j.job_id = ?", [job_id])
            return _job_row(rows[0]) if rows else None
        row = self._one("SELECT * FROM jobs WHERE job_id = ?", [job_id])
        return _job_row(row) if row else None

    def list_jobs(self, *, limit: int = 500, statuses: Sequence[str] | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM jobs"
        params: list[Any] = []
        if statuses:
            sql += f" WHERE status IN ({','.join('?' * len(statuses))})"
            params.extend(statuses)
        sql += " ORDER BY created_at DESC LIMIT ?"
        params.append(limit)
        return [_job_row(r) for r in self._all(sql, params)]

    def child_jobs(self, job_id: str) -> list[dict[str, Any]]:
        return [_job_row(r) for r in self._all(
            "SELECT * FROM jobs WHERE parent_job_id = ? ORDER BY created_at", [job_id])]

    def requeue_orphans(self, owner: str) -> list[str]:
        """Jobs left 'running' by a coordinator that is gone go back to the queue.

        DuckDB lets one process write the file, so when ``owner`` (this process) has it open,
        every other owner's running job is orphaned: its process crashed or was killed.
        """
        rows = self._all("SELECT job_id, owner FROM jobs WHERE status = 'running' AND owner IS DISTINCT FROM ?",
                         [owner])
        for row in rows:
            self.update_job(row["job_id"], status="queued", phase=None, progress=0.0, owner=None,
                            heartbeat_at=None)
            gone = f" (its runner {row['owner']} is gone)" if row.get("owner") else ""
            self.add_event(row["job_id"], None, "requeued", f"re-queued after an interrupted run{gone}")
        return [r["job_id"] for r in rows]

    def claim_job(self, job_id: str, owner: str) -> bool:
        """Atomically move a queued job to running under ``owner``; False when someone else has it."""
        now = time.time()
        with self._lock:
            self._generation += 1
            rows = self._con.execute(
                "UPDATE jobs SET status = 'running', owner = ?, heartbeat_at = ?, started_at = ?, "
                "updated_at = ?, error_type = NULL, error_message = NULL "
                "WHERE job_id = ? AND status = 'queued' RETURNING job_id",
                [owner, now, now, now, job_id]).fetchall()
        return bool(rows)

    def heartbeat(self, owner: str) -> int:
        """Mark every running job of ``owner`` as alive now; returns how many."""
        with self._lock:
            self._generation += 1
            rows = self._con.execute(
                "UPDATE jobs SET heartbeat_at = ? WHERE owner = ? AND status = 'running' RETURNING job_id",
                [time.time(), owner]).fetchall()
        return len(rows)

    # -------------------------------------------------------- idempotency keys
    def idempotent_answer(self, scope: str, key: str) -> tuple[int, Any] | None:
        row = self._one("SELECT status_code, body FROM idempotency_keys WHERE scope = ? AND key = ?", [scope, key])
        return (int(row["status_code"]), _loads(row["body"])) if row else None

    def remember_answer(self, scope: str, key: str, status_code: int, body: Any) -> None:
        self._exec("INSERT INTO idempotency_keys VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING",
                   [scope, key, status_code, _dumps(body), time.time()])

    def add_event(
        self, job_id: str, phase: str | None, event: str, message: str = "",
        elapsed_ms: float | None = None, data: dict[str, Any] | None = None,
    ) -> None:
        self._exec(
            "INSERT INTO job_events VALUES (?,?,?,?,?,?,?)",
            [job_id, time.time(), phase, event, message, elapsed_ms, _dumps(data)],
        )

    def job_events(self, job_id: str) -> list[dict[str, Any]]:
        rows = self._cached_all("SELECT * FROM job_events WHERE job_id = ? ORDER BY ts", [job_id])
        for r in rows:
            r["data"] = _loads(r["data"])
        return rows

    # ----------------------------------------------------------------- results
    def get_result(self, video_id: str, strategy_version: str) -> dict[str, Any] | None:
        row = self._one(
            "SELECT * FROM results WHERE video_id = ? AND strategy_version = ?",
            [video_id, strategy_version],
        )
        if row:
            row["topics"] = _loads(row["topics"])
        return row

    def save_result(
        self,
        *,
        video_id: str,
        strategy_version: str,
        job_id: str,
        summary: str,
        topics: list[str],
        extractor: str,
        transcript_origin: str,
        dropped_ungrounded: int,
        tokens_in: int,
        tokens_out: int,
        cost: float,
        segments: Sequence[Segment],
        places: Sequence[Place],
    ) -> None:
        """Store one video's analysis atomically (segments, places, result row)."""
        now = time.time()
        with self._tx() as con:
            for table in ("results", "segments", "places"):
                con.execute(
                    f"DELETE FROM {table} WHERE video_id = ? AND strategy_version = ?",
                    [video_id, strategy_version],
                )
            if segments:
                con.executemany(
                    "INSERT INTO segments VALUES (?,?,?,?,?,?)",
                    [[video_id, strategy_version, i, s.start, s.end, s.text] for i, s in enumerate(segments)],
                )
            if places:
                con.executemany(
                    f"INSERT INTO places ({','.join(PLACE_COLUMNS)}) VALUES ({','.join('?' * len(PLACE_COLUMNS))})",
                    [_place_row(video_id, strategy_version, job_id, i, p, now) for i, p in enumerate(places)],
                )
            con.execute(
                "INSERT INTO results VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                [
                    video_id, strategy_version, job_id, summary, _dumps(topics), extractor,
                    transcript_origin, dropped_ungrounded, tokens_in, tokens_out, cost, now,
                ],
            )

    def segments(self, video_id: str, strategy_version: str) -> list[Segment]:
        rows = self._all(
            "SELECT start_s, end_s, text FROM segments WHERE video_id = ? AND strategy_version = ? ORDER BY idx",
            [video_id, strategy_version],
        )
        return [Segment(r["start_s"], r["end_s"], r["text"]) for r in rows]

    def places_for(self, video_id: str, strategy_version: str) -> list[dict[str, Any]]:
        rows = self._all(
            "SELECT * FROM places WHERE video_id = ? AND strategy_version = ? ORDER BY start_seconds, idx",
            [video_id, strategy_version],
        )
        return [_place_dict(r) for r in rows]

    def channel_place_ids(self, channel: str, strategy_version: str, exclude_video_id: str) -> list[list[str]]:
        """Per other video of the same channel (yt-dlp ``channel_id`` or ``uploader``): the
        gazetteer ids of its placed, not rejected places. Input for ``home_areas``."""
        if not channel:
            return []
        rows = self._all(
            "SELECT p.video_id, p.gazetteer_id FROM places p JOIN videos v ON v.video_id = p.video_id "
            "LEFT JOIN corrections c ON c.video_id = p.video_id AND c.place_key = p.place_key "
            "WHERE p.strategy_version = ? AND p.video_id <> ? AND p.status = 'ok' "
            "AND p.gazetteer_id IS NOT NULL AND NOT coalesce(c.rejected, false) "
            "AND coalesce(json_extract_string(v.metadata, '$.channel_id'), "
            "json_extract_string(v.metadata, '$.uploader')) = ? ORDER BY p.video_id",
            [strategy_version, exclude_video_id, channel],
        )
        by_video: dict[str, list[str]] = {}
        for r in rows:
            by_video.setdefault(r["video_id"], []).append(r["gazetteer_id"])
        return list(by_video.values())

    def update_place_geocode(self, place_id: str, place: Place) -> None:
        self._exec(
            "UPDATE places SET latitude = ?, longitude = ?, geocoder = ?, gazetteer_id = ?, "
            "country_code = ?, status = ?, failure_reason = ?, updated_at = ? WHERE place_id = ?",
            [
                place.latitude, place.longitude, place.geocoder, place.gazetteer_id,
                place.country_code, place.status, place.failure_reason, time.time(), place_id,
            ],
        )

    def latest_places(self, video_ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Places of the newest finished analysis of each video, with corrections applied."""
        sql = """
            WITH latest AS (
                SELECT video_id, strategy_version FROM (
                    SELECT video_id, strategy_version,
                           row_number() OVER (PARTITION BY video_id ORDER BY created_at DESC) AS rn
                    FROM results) WHERE rn = 1)
            SELECT p.*, v.title AS video_title, v.url AS video_url, v.platform AS platform,
                   c.name AS c_name, c.latitude AS c_latitude, c.longitude AS c_longitude,
                   c.rejected AS c_rejected, c.visited AS c_visited, c.note AS c_note,
                   (SELECT min(j.source) FROM jobs j WHERE j.job_id = p.job_id) AS source
            FROM places p
            JOIN latest l ON p.video_id = l.video_id AND p.strategy_version = l.strategy_version
            LEFT JOIN videos v ON v.video_id = p.video_id
            LEFT JOIN corrections c ON c.video_id = p.video_id AND c.place_key = p.place_key
        """
        params: list[Any] = []
        if video_ids:
            sql += f" WHERE p.video_id IN ({','.join('?' * len(video_ids))})"
            params.extend(video_ids)
        sql += " ORDER BY p.video_id, p.start_seconds, p.idx"
        return [_place_dict(r) for r in self._all(sql, params)]

    # --------------------------------------------------------------- corrections
    def save_correction(
        self, video_id: str, key: str, *, name: str | None = None, latitude: float | None = None,
        longitude: float | None = None, rejected: bool | None = None, visited: bool | None = None,
        note: str | None = None,
    ) -> None:
        with self._tx() as con:
            row = con.execute(
                "SELECT name, latitude, longitude, rejected, visited, note FROM corrections "
                "WHERE video_id = ? AND place_key = ?", [video_id, key],
            ).fetchone()
            old = dict(zip(("name", "latitude", "longitude", "rejected", "visited", "note"), row or (None,) * 6,
                           strict=True))
            new = {
                "name": name if name is not None else old["name"],
                "latitude": latitude if latitude is not None else old["latitude"],
                "longitude": longitude if longitude is not None else old["longitude"],
                "rejected": rejected if rejected is not None else old["rejected"],
                "visited": visited if visited is not None else old["visited"],
                "note": note if note is not None else old["note"],
            }
            con.execute("DELETE FROM corrections WHERE video_id = ? AND place_key = ?", [video_id, key])
            con.execute(
                "INSERT INTO corrections VALUES (?,?,?,?,?,?,?,?,?)",
                [video_id, key, new["name"], new["latitude"], new["longitude"], new["rejected"],
                 new["visited"], new["note"], time.time()],
            )

    def clear_correction(self, video_id: str, key: str) -> None:
        self._exec("DELETE FROM corrections WHERE video_id = ? AND place_key = ?", [video_id, key])

    def corrections(self) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM corrections ORDER BY updated_at")

    # ------------------------------------------------------------ review (workbench)
    def log_correction(self, video_id: str, key: str, *, who: str, action: str,
                       before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
        """One line of a place's audit trail: who changed what, when, and what was there before."""
        self._exec("INSERT INTO correction_log VALUES (?,?,?,?,?,?,?)",
                   [video_id, key, time.time(), who, action, _dumps(before), _dumps(after)])

    def correction_history(self, video_id: str | None = None, key: str | None = None) -> list[dict[str, Any]]:
        sql, params = "SELECT * FROM correction_log WHERE true", []
        if video_id is not None:
            sql += " AND video_id = ?"
            params.append(video_id)
        if key is not None:
            sql += " AND place_key = ?"
            params.append(key)
        rows = self._all(sql + " ORDER BY changed_at", params)
        for r in rows:
            r["before"], r["after"] = _loads(r["before"]), _loads(r["after"])
        return rows

    def add_place(self, video_id: str, key: str, *, name: str, start_seconds: float, evidence: str,
                  marker: str, latitude: float | None, longitude: float | None, gazetteer_id: str | None,
                  country_code: str | None, who: str) -> None:
        """A place the analyst added (kept apart from the analysis: it survives re-analysis)."""
        with self._tx() as con:
            con.execute("DELETE FROM added_places WHERE video_id = ? AND place_key = ?", [video_id, key])
            con.execute("INSERT INTO added_places VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                        [video_id, key, name, start_seconds, evidence, marker, latitude, longitude,
                         gazetteer_id, country_code, who, time.time()])

    def remove_added_place(self, video_id: str, key: str) -> None:
        self._exec("DELETE FROM added_places WHERE video_id = ? AND place_key = ?", [video_id, key])

    def added_places(self, video_ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Added places shaped like ``latest_places`` rows (corrections joined the same way)."""
        sql = """
            SELECT a.video_id || '|added|' || a.place_key AS place_id, a.video_id, NULL AS strategy_version,
                   NULL AS job_id, -1 AS idx, a.place_key, a.name, '' AS description, a.start_seconds,
                   '["added"]' AS tags, a.marker, a.evidence, CAST(1.0 AS DOUBLE) AS confidence,
                   a.latitude, a.longitude,
                   'analyst' AS geocoder, a.gazetteer_id, a.country_code,
                   CASE WHEN a.latitude IS NULL THEN 'failed' ELSE 'ok' END AS status,
                   CASE WHEN a.latitude IS NULL THEN 'no coordinates yet' END AS failure_reason,
                   a.created_at AS updated_at, v.title AS video_title, v.url AS video_url, v.platform AS platform,
                   c.name AS c_name, c.latitude AS c_latitude, c.longitude AS c_longitude,
                   c.rejected AS c_rejected, c.visited AS c_visited, c.note AS c_note,
                   (SELECT min(s.source) FROM source_videos s WHERE s.video_id = a.video_id) AS source
            FROM added_places a
            LEFT JOIN videos v ON v.video_id = a.video_id
            LEFT JOIN corrections c ON c.video_id = a.video_id AND c.place_key = a.place_key
        """
        params: list[Any] = []
        if video_ids:
            sql += f" WHERE a.video_id IN ({','.join('?' * len(video_ids))})"
            params.extend(video_ids)
        return [_place_dict(r) for r in self._all(sql + " ORDER BY a.video_id, a.start_seconds", params)]

    def search_segments(self, words: Sequence[str], *, limit: int = 500) -> list[dict[str, Any]]:
        """Segments of each video's newest analysis that contain every word (case-insensitive)."""
        if not words:
            return []
        sql = """
            WITH latest AS (
                SELECT video_id, strategy_version FROM (
                    SELECT video_id, strategy_version,
                           row_number() OVER (PARTITION BY video_id ORDER BY created_at DESC) AS rn
                    FROM results) WHERE rn = 1)
            SELECT s.video_id, s.idx, s.start_s, s.end_s, s.text, v.title AS video_title, v.url AS video_url,
                   v.platform AS platform
            FROM segments s
            JOIN latest l ON s.video_id = l.video_id AND s.strategy_version = l.strategy_version
            LEFT JOIN videos v ON v.video_id = s.video_id
            WHERE """ + " AND ".join(["s.text ILIKE ? ESCAPE '\\'"] * len(words)) + """
            ORDER BY lower(coalesce(v.title, s.video_id)), s.start_s LIMIT ?"""
        escaped = [w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for w in words]
        params = [f"%{w}%" for w in escaped] + [limit]
        return self._all(sql, params)

    def delete_video(self, video_id: str) -> int:
        """Remove a video with everything found in it (jobs, results, places, corrections)."""
        with self._tx() as con:
            jobs = [r[0] for r in con.execute("SELECT job_id FROM jobs WHERE video_id = ?", [video_id]).fetchall()]
            for table in ("videos", "source_videos", "results", "segments", "places", "corrections",
                          "correction_log", "added_places", "jobs"):
                con.execute(f"DELETE FROM {table} WHERE video_id = ?", [video_id])
            for job_id in jobs:
                con.execute("DELETE FROM job_events WHERE job_id = ?", [job_id])
                con.execute("DELETE FROM cleared_jobs WHERE job_id = ?", [job_id])
        return len(jobs)

    def clear_jobs(self, job_ids: Iterable[str]) -> None:
        """Hide finished jobs from the Jobs list (their rows stay: metrics, sources, history)."""
        now = time.time()
        with self._tx() as con:
            for job_id in job_ids:
                con.execute("DELETE FROM cleared_jobs WHERE job_id = ?", [job_id])
                con.execute("INSERT INTO cleared_jobs VALUES (?, ?)", [job_id, now])

    def video_sources(self, video_id: str) -> list[str]:
        """The sources (paths, URLs) a video was analysed from, newest first."""
        return [r["source"] for r in self._all(
            "SELECT source FROM source_videos WHERE video_id = ? ORDER BY updated_at DESC", [video_id])]

    def latest_result(self, video_id: str) -> dict[str, Any] | None:
        return self._one("SELECT summary, extractor, transcript_origin, created_at FROM results "
                         "WHERE video_id = ? ORDER BY created_at DESC LIMIT 1", [video_id])

    def cleared_job_ids(self) -> set[str]:
        return {r["job_id"] for r in self._all("SELECT job_id FROM cleared_jobs")}

    def job_review_facts(self, job_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Per job: whether it was answered from the cache, and when its current phase started."""
        if not job_ids:
            return {}
        marks = ",".join("?" * len(job_ids))
        rows = self._all(
            f"SELECT job_id, bool_or(event = 'cache_hit') AS cache_hit, "
            f"max(ts) FILTER (WHERE event = 'phase_start') AS phase_started "
            f"FROM job_events WHERE job_id IN ({marks}) GROUP BY job_id", list(job_ids))
        return {r["job_id"]: r for r in rows}

    def phase_speeds(self) -> dict[str, Any]:
        """Measured on this machine: median seconds per phase, and transcription seconds per second
        of media (from finished phases of earlier jobs)."""
        rows = self._all(
            "SELECT phase, quantile_cont(elapsed_ms, 0.5) AS p50_ms, count(*) AS n FROM job_events "
            "WHERE event = 'phase_done' AND elapsed_ms IS NOT NULL GROUP BY phase")
        speed = self._one(
            "SELECT sum(e.elapsed_ms) / 1000 / nullif(sum(v.duration), 0) AS s_per_s FROM job_events e "
            "JOIN jobs j ON j.job_id = e.job_id JOIN videos v ON v.video_id = j.video_id "
            "WHERE e.event = 'phase_done' AND e.phase = 'transcription' AND v.duration > 0") or {}
        return {"phase_s": {r["phase"]: (r["p50_ms"] or 0) / 1000 for r in rows},
                "transcription_s_per_media_s": speed.get("s_per_s")}

    # ------------------------------------------------------------ geocode cache
    def geocode_cache_get(self, key: str) -> tuple[bool, GeoHit | None] | None:
        row = self._one("SELECT found, hit FROM geocode_cache WHERE cache_key = ?", [key])
        if row is None:
            return None
        hit = _loads(row["hit"])
        return bool(row["found"]), (GeoHit.from_dict(hit) if hit else None)

    def geocode_cache_put(self, key: str, geocoder: str, query: str, hit: GeoHit | None) -> None:
        with self._tx() as con:
            con.execute("DELETE FROM geocode_cache WHERE cache_key = ?", [key])
            con.execute(
                "INSERT INTO geocode_cache VALUES (?,?,?,?,?,?)",
                [key, geocoder, query, hit is not None, _dumps(hit.to_dict() if hit else None), time.time()],
            )

    # ------------------------------------------------------------------ metrics
    def job_status_counts(self) -> dict[str, int]:
        return {r["status"]: int(r["n"]) for r in self._all("SELECT status, count(*) AS n FROM jobs GROUP BY status")}

    def phase_duration_buckets(self, bounds_s: Sequence[float]) -> list[dict[str, Any]]:
        """Per phase: count, total seconds and cumulative counts at each bound (for a histogram)."""
        bucket_sql = ", ".join(f"count(*) FILTER (WHERE elapsed_ms <= {float(b) * 1000}) AS b{i}"
                               for i, b in enumerate(bounds_s))
        rows = self._all(
            f"SELECT phase, count(*) AS n, coalesce(sum(elapsed_ms), 0) / 1000 AS total_s, {bucket_sql} "
            "FROM job_events WHERE event = 'phase_done' AND elapsed_ms IS NOT NULL AND phase IS NOT NULL "
            "GROUP BY phase ORDER BY phase")
        return [{"phase": r["phase"], "count": int(r["n"]), "total_s": float(r["total_s"]),
                 "cumulative": [int(r[f"b{i}"]) for i in range(len(bounds_s))]} for r in rows]

    def geocode_counts(self) -> tuple[int, int]:
        """(places geocoded, places extracted) over every stored analysis."""
        row = self._one("SELECT count(*) FILTER (WHERE status = 'ok') AS ok, count(*) AS total FROM places") or {}
        return int(row.get("ok") or 0), int(row.get("total") or 0)

    def metrics(self) -> dict[str, Any]:
        counts = {r["status"]: r["n"] for r in self._all(
            "SELECT status, count(*) AS n FROM jobs GROUP BY status")}
        phases = self._all(
            "SELECT phase, count(*) AS n, avg(elapsed_ms) AS avg_ms, quantile_cont(elapsed_ms, 0.5) AS p50_ms, "
            "max(elapsed_ms) AS max_ms FROM job_events WHERE event = 'phase_done' AND elapsed_ms IS NOT NULL "
            "GROUP BY phase ORDER BY phase")
        geo = self._one(
            "SELECT count(*) FILTER (WHERE status = 'ok') AS ok, count(*) AS total FROM places") or {}
        llm = self._one(
            "SELECT coalesce(sum(tokens_in),0) AS tokens_in, coalesce(sum(tokens_out),0) AS tokens_out, "
            "coalesce(sum(cost),0) AS cost FROM results") or {}
        total_places = geo.get("total") or 0
        return {
            "jobs_total": sum(counts.values()),
            "jobs_running": counts.get("running", 0),
            "jobs_queued": counts.get("queued", 0),
            "jobs_by_status": counts,
            "phase_durations_ms": {p["phase"]: {k: p[k] for k in ("n", "avg_ms", "p50_ms", "max_ms")} for p in phases},
            "geocode_success_ratio": (geo.get("ok") or 0) / total_places if total_places else None,
            "places_total": total_places,
            "tokens_in": int(llm.get("tokens_in") or 0),
            "tokens_out": int(llm.get("tokens_out") or 0),
            "cost": float(llm.get("cost") or 0.0),
        }


def _job_row(row: dict[str, Any]) -> dict[str, Any]:
    row["options"] = _loads(row["options"]) or {}
    row["metrics"] = _loads(row["metrics"]) or {}
    return row


def _place_row(video_id: str, sv: str, job_id: str, idx: int, p: Place, now: float) -> list[Any]:
    return [
        f"{video_id}|{sv}|{idx}", video_id, sv, job_id, idx, place_key(p.name), p.name, p.description,
        p.start_seconds, _dumps(p.tags), p.marker, p.evidence, p.confidence, p.latitude, p.longitude,
        p.geocoder, p.gazetteer_id, p.country_code, p.status, p.failure_reason, now,
    ]


def _place_dict(row: dict[str, Any]) -> dict[str, Any]:
    row["tags"] = _loads(row.get("tags")) or []
    return row
