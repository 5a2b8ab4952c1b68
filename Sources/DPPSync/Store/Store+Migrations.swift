import GRDB

extension Store {
    /// Versioned schema. Add a migration; never edit a shipped one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-bookkeeping") { db in
            try db.execute(sql: """
                CREATE TABLE batch (
                    id INTEGER PRIMARY KEY,
                    started_at TEXT NOT NULL,
                    finished_at TEXT,
                    status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'interrupted')),
                    trigger TEXT NOT NULL DEFAULT 'run',
                    pid INTEGER
                );
                CREATE TABLE input_file (
                    id INTEGER PRIMARY KEY,
                    fingerprint TEXT NOT NULL,
                    source TEXT NOT NULL,
                    name TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    batch_id INTEGER NOT NULL REFERENCES batch(id),
                    disposition TEXT NOT NULL CHECK (disposition IN ('archived', 'quarantined')),
                    reason TEXT,
                    message TEXT,
                    mapping_name TEXT,
                    mapping_hash TEXT,
                    first_seen_at TEXT,
                    decided_at TEXT NOT NULL,
                    record_count INTEGER NOT NULL DEFAULT 0,
                    duplicate_of INTEGER REFERENCES input_file(id),
                    -- Set when `dppsync reprocess` ran the same bytes again on purpose.
                    reprocess_of INTEGER REFERENCES input_file(id),
                    -- Where the file was archived or quarantined (set right after the move).
                    stored_path TEXT
                );
                -- One effective (non-duplicate) row per fingerprint: exactly-once per file content.
                CREATE UNIQUE INDEX input_file_fingerprint ON input_file(fingerprint) WHERE duplicate_of IS NULL AND reprocess_of IS NULL;
                CREATE INDEX input_file_fingerprint_all ON input_file(fingerprint);
                CREATE INDEX input_file_batch ON input_file(batch_id);
                CREATE TABLE record_outcome (
                    id INTEGER PRIMARY KEY,
                    batch_id INTEGER NOT NULL REFERENCES batch(id),
                    file_id INTEGER NOT NULL REFERENCES input_file(id),
                    record_index INTEGER NOT NULL,
                    line INTEGER,
                    kind TEXT,
                    record_key TEXT,
                    outcome TEXT NOT NULL,
                    reason TEXT,
                    message TEXT,
                    mapping_hash TEXT,
                    -- The earlier rejected record this one corrects (a fixed extract dropped back), linked by key.
                    corrects INTEGER REFERENCES record_outcome(id)
                );
                CREATE INDEX record_outcome_batch ON record_outcome(batch_id, outcome);
                CREATE INDEX record_outcome_key ON record_outcome(record_key, kind);
                CREATE TABLE mapping_text (
                    hash TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    text TEXT NOT NULL,
                    first_used_at TEXT NOT NULL
                );
                CREATE TABLE review_item (
                    id INTEGER PRIMARY KEY,
                    batch_id INTEGER NOT NULL REFERENCES batch(id),
                    file_id INTEGER NOT NULL REFERENCES input_file(id),
                    record_index INTEGER NOT NULL,
                    kind TEXT NOT NULL,
                    record_key TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    message TEXT NOT NULL,
                    record TEXT NOT NULL,
                    mapping_hash TEXT,
                    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'accepted', 'rejected', 'redecided')),
                    created_at TEXT NOT NULL,
                    resolved_at TEXT,
                    resolved_by TEXT,
                    note TEXT
                );
                CREATE INDEX review_item_open ON review_item(status, reason);
                CREATE TABLE intake_observation (
                    source TEXT NOT NULL,
                    name TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    mtime_ns INTEGER NOT NULL,
                    first_seen_at REAL NOT NULL,
                    unchanged_since REAL NOT NULL,
                    PRIMARY KEY (source, name)
                );
                CREATE TABLE ledger_entry (
                    seq INTEGER PRIMARY KEY,
                    time TEXT NOT NULL,
                    batch_id INTEGER,
                    kind TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    body BLOB NOT NULL,
                    leaf_hash BLOB NOT NULL
                );
                CREATE INDEX ledger_entry_subject ON ledger_entry(subject);
                """)
            for table in StateSchema.tables {
                try db.execute(sql: table.createSQL)
            }
            try db.execute(sql: """
                CREATE INDEX asset_cmms ON asset(cmms_asset_num);
                CREATE INDEX asset_part_serial ON asset(part_number, serial_number);
                CREATE INDEX work_order_dpp ON work_order(dpp_id);
                -- Personal data of technicians: not DPP state, not ledgered, erasable (DESIGN.md §8).
                CREATE TABLE technician_personal (
                    labor_code TEXT PRIMARY KEY,
                    name TEXT,
                    licence TEXT
                );
                """)
        }
        migrator.registerMigration("v2-checkpoints") { db in
            // Checkpoints describe the log; they are not DPP state and are not ledgered.
            try db.execute(sql: """
                CREATE TABLE checkpoint (
                    tree_size INTEGER PRIMARY KEY,
                    root_hash BLOB NOT NULL,
                    note TEXT NOT NULL,
                    signed_at TEXT NOT NULL
                )
                """)
        }
        migrator.registerMigration("v3-outbox-queue") { db in
            // Delivery of outbox messages: not DPP state (emission happens after commit).
            try db.execute(sql: """
                CREATE TABLE outbox_queue (
                    message_id TEXT PRIMARY KEY,
                    ledger_seq INTEGER NOT NULL,
                    emitted_at TEXT,
                    file TEXT
                );
                CREATE INDEX outbox_queue_pending ON outbox_queue(emitted_at);
                CREATE INDEX outbox_message_stream ON outbox_message(stream);
                """)
        }
        migrator.registerMigration("v4-ledger-subjects") { db in
            // A completion is one ledger entry; the parts it moved find it through this
            // index (derived from the entry's rows). Lifecycle events were a copy of
            // work orders and their parts, so they are no longer stored.
            try db.execute(sql: """
                DROP TABLE IF EXISTS lifecycle_event;
                CREATE TABLE ledger_subject (
                    subject TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    PRIMARY KEY (subject, seq)
                ) WITHOUT ROWID;
                -- Release certificates and other channels written a file per batch find their batch's messages here.
                ALTER TABLE outbox_queue ADD COLUMN batch_id INTEGER NOT NULL DEFAULT 0;
                CREATE INDEX outbox_queue_batch ON outbox_queue(batch_id, ledger_seq);
                DROP INDEX outbox_queue_pending;
                CREATE INDEX outbox_queue_pending ON outbox_queue(emitted_at, ledger_seq);
                -- Whether a record can be a correction at all is one lookup (rejections are rare).
                CREATE INDEX record_outcome_rejected ON record_outcome(kind) WHERE outcome = 'rejected';
                """)
        }
        migrator.registerMigration("v5-clustered-state") { db in
            // State tables clustered on their key: one B-tree per row written instead of a rowid
            // table plus its key index. Stores made before this are rebuilt, indexes and all.
            for table in StateSchema.tables {
                let sql = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", arguments: [table.name]) ?? ""
                if sql.contains("WITHOUT ROWID") { continue }
                let indexes = try String.fetchAll(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
                                                  arguments: [table.name])
                try db.execute(sql: "ALTER TABLE \(table.name) RENAME TO \(table.name)_v4")
                try db.execute(sql: table.createSQL)
                let columns = table.columns.joined(separator: ", ")
                try db.execute(sql: "INSERT INTO \(table.name) (\(columns)) SELECT \(columns) FROM \(table.name)_v4")
                try db.execute(sql: "DROP TABLE \(table.name)_v4")
                for index in indexes { try db.execute(sql: index) }
            }
        }
        migrator.registerMigration("v6-checkpoint-frontier") { db in
            // The Merkle tree's right edge at each checkpoint: the next one hashes only newer entries.
            try db.execute(sql: "ALTER TABLE checkpoint ADD COLUMN frontier BLOB")
        }
        migrator.registerMigration("v7-compressed-ledger-bodies") { db in
            // Bodies stored compressed from now on, with the canonical length (`StoredBody`);
            // NULL keeps the earlier entries readable as they are.
            try db.execute(sql: "ALTER TABLE ledger_entry ADD COLUMN body_size INTEGER")
        }
        migrator.registerMigration("v8-outbox-partial-indexes") { db in
            // The emitter asks only for messages not emitted yet, and the planner only for the streams
            // of channels that replace their messages: a release certificate (one per work order, its
            // stream its own) is an index entry less when decided, and one delete, not a move, when emitted.
            try db.execute(sql: """
                DROP INDEX outbox_queue_pending;
                CREATE INDEX outbox_queue_pending ON outbox_queue(ledger_seq) WHERE emitted_at IS NULL;
                DROP INDEX outbox_message_stream;
                CREATE INDEX outbox_message_stream ON outbox_message(stream) WHERE channel != 'release-certificates';
                """)
        }
        migrator.registerMigration("v9-outbox-queue-clustered") { db in
            // Clustered on the message id like the state tables: queueing a message is one B-tree
            // entry fewer (no rowid table beside the key), and marking it emitted one lookup.
            try db.execute(sql: """
                CREATE TABLE outbox_queue_v9 (
                    message_id TEXT NOT NULL PRIMARY KEY,
                    ledger_seq INTEGER NOT NULL,
                    emitted_at TEXT,
                    file TEXT,
                    batch_id INTEGER NOT NULL DEFAULT 0
                ) WITHOUT ROWID;
                INSERT INTO outbox_queue_v9 (message_id, ledger_seq, emitted_at, file, batch_id)
                    SELECT message_id, ledger_seq, emitted_at, file, batch_id FROM outbox_queue;
                DROP TABLE outbox_queue;
                ALTER TABLE outbox_queue_v9 RENAME TO outbox_queue;
                CREATE INDEX outbox_queue_batch ON outbox_queue(batch_id, ledger_seq);
                CREATE INDEX outbox_queue_pending ON outbox_queue(ledger_seq) WHERE emitted_at IS NULL;
                """)
        }
        migrator.registerMigration("v10-work-order-latest") { db in
            // Due dates need each component's latest completion per task: one seek at the end of
            // its run in this index, where the component index made the planner read every work
            // order ever completed, each a random row of the table (12.8 s of a run after 1M).
            try db.execute(sql: """
                DROP INDEX work_order_dpp;
                CREATE INDEX work_order_latest ON work_order(dpp_id, COALESCE(task_id, ''), completion_date, work_order_id);
                """)
        }
        migrator.registerMigration("v11-asset-certificate-expiry") { db in
            // The planner asks which certificates expire within its horizon: a range of this index
            // instead of reading every asset's certificate, parts included (2.5 million after 1M
            // work orders). Completions never touch the column, so they never touch the index.
            try db.execute(sql: "CREATE INDEX asset_certificate_expiry ON asset(\(StateSchema.certificateExpirySQL))")
        }
        migrator.registerMigration("v12-outcome-indexes") { db in
            // Outcomes are looked up by key only to link a correction to the rejected record it
            // corrects: an index of the rejected ones alone (rare) does that, where every record
            // of every file had an entry in the key index. The link itself is found by its own
            // (tiny) index instead of reading every outcome for each candidate.
            try db.execute(sql: """
                DROP INDEX record_outcome_key;
                DROP INDEX record_outcome_rejected;
                CREATE INDEX record_outcome_rejected ON record_outcome(record_key, kind) WHERE outcome = 'rejected';
                CREATE INDEX record_outcome_corrects ON record_outcome(corrects) WHERE corrects IS NOT NULL;
                """)
        }
        migrator.registerMigration("v13-outbox-stream-heads") { db in
            // The latest message of each stream, kept as messages are decided: the planner had read
            // every message ever decided (all but the certificates) to find them, each run.
            try db.execute(sql: """
                CREATE TABLE outbox_stream (stream TEXT NOT NULL PRIMARY KEY, message_id TEXT NOT NULL) WITHOUT ROWID;
                INSERT INTO outbox_stream (stream, message_id)
                    SELECT m.stream, m.message_id FROM outbox_message m JOIN outbox_queue q ON q.message_id = m.message_id
                    WHERE m.channel != 'release-certificates' AND m.stream IS NOT NULL ORDER BY q.ledger_seq
                    ON CONFLICT (stream) DO UPDATE SET message_id = excluded.message_id;
                """)
        }
        migrator.registerMigration("v14-outbox-stream-sources") { db in
            // What the planner built a component's status or specification message from (its asset
            // columns, as SQLite's `json_array` writes them): a stream whose source is unchanged keeps
            // its head, so the planner compares text instead of building, hashing and parsing two
            // messages per component on every run. NULL (streams decided before, or whose head another
            // path changed) only means: build the message and compare ids, as before.
            // A certification requirement's stream keeps its head's words here (`OutboxPlanner.words`),
            // compared with each pass's; NULL: its body is read and compared once, then recorded.
            try db.execute(sql: "ALTER TABLE outbox_stream ADD COLUMN source TEXT")
        }
        migrator.registerMigration("v15-outcome-batch-reason") { db in
            // A batch's counts by outcome and reason (each report, `status`) are read from the index
            // alone: without the reason in it, each of the batch's outcomes was a lookup of its row.
            // After a 100k work-order file whose parts were drawn from anywhere in the registry those
            // rows were mostly still in the WAL, and the counts took ~2 G cycles per report.
            try db.execute(sql: """
                DROP INDEX record_outcome_batch;
                CREATE INDEX record_outcome_batch ON record_outcome(batch_id, outcome, reason);
                """)
        }
        migrator.registerMigration("v16-outbox-queue-channel") { db in
            // Each message's channel beside its place in the queue, and in the index of pending ones:
            // the emitter looks for one channel's pending messages (or all but some), and had joined
            // every pending message to its row in `outbox_message` to read it there, a million
            // release certificates included, to find a few thousand files' messages. `emitted_at`
            // (NULL in every entry: one byte) lets SQLite 3.40 read the index alone: it does not
            // count the partial index's own condition as covered.
            try db.execute(sql: """
                ALTER TABLE outbox_queue ADD COLUMN channel TEXT NOT NULL DEFAULT '';
                UPDATE outbox_queue SET channel = COALESCE((SELECT m.channel FROM outbox_message m WHERE m.message_id = outbox_queue.message_id), '');
                DROP INDEX outbox_queue_pending;
                CREATE INDEX outbox_queue_pending ON outbox_queue(ledger_seq, channel, batch_id, emitted_at) WHERE emitted_at IS NULL;
                """)
        }
        migrator.registerMigration("v17-outbox-plan") { db in
            // The ledger's size when the last outbox plan began: a command that changed state while a
            // run held the run lock (`review resolve`) can tell whether a pass has planned since, not
            // only signed (a pass that was writing a file had often planned before the change committed).
            try db.execute(sql: """
                CREATE TABLE outbox_plan (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    planned_through INTEGER NOT NULL
                )
                """)
        }
        migrator.registerMigration("v18-review-item-open-record") { db in
            // A held record looks for its own older open item (`OutcomeRecorder.hold`): without this
            // index each hold read every open item, quadratic in a file whose records are held.
            try db.execute(sql: "CREATE INDEX review_item_open_record ON review_item(record_key, kind) WHERE status = 'open'")
        }
        migrator.registerMigration("v19-batch-reported") { db in
            // Whether a batch's reconciliation report was written whole: a run killed before it wrote
            // (or while) had left a completed batch without one, for good. Batches before this had theirs.
            try db.execute(sql: """
                ALTER TABLE batch ADD COLUMN reported INTEGER NOT NULL DEFAULT 0;
                UPDATE batch SET reported = 1;
                """)
        }
        migrator.registerMigration("v20-review-item-record") { db in
            // The compliance report names each finding's review item, found by the record (file and index) it
            // held: the outcome a resolution records is in the resolution's batch, not the item's.
            try db.execute(sql: "CREATE INDEX review_item_record ON review_item(file_id, record_index)")
        }
        migrator.registerMigration("v21-input-file-line") { db in
            // Where a file quarantined whole stopped its decoder: a run stopped between the quarantine's commit and the
            // move writes the reason file from the row, which had kept the message but not the line.
            try db.execute(sql: "ALTER TABLE input_file ADD COLUMN line INTEGER")
        }
        migrator.registerMigration("v22-review-item-line") { db in
            // The line of a held record is kept with its review item: `review list` had joined each item to its
            // batch's outcomes for it, and with no index on the record that read every outcome of the batch per
            // item (590 items held in a batch of 35,000 records: 5.2 s). Filled from the held outcomes in one
            // pass over them, each item found by its record (`review_item_record`).
            try db.execute(sql: "ALTER TABLE review_item ADD COLUMN line INTEGER")
            let update = try db.makeStatement(sql: "UPDATE review_item SET line = ? WHERE file_id = ? AND record_index = ? AND batch_id = ?")
            let held = try Row.fetchCursor(db, sql: "SELECT line, file_id, record_index, batch_id FROM record_outcome WHERE outcome = 'held' AND line IS NOT NULL")
            while let row = try held.next() {
                try update.execute(arguments: [row[0] as Int64, row[1] as Int64, row[2] as Int64, row[3] as Int64])
            }
        }
        migrator.registerMigration("v23-outbox-plan-key") { db in
            // What the last plan decided from: the ledger's size once it had decided (its own entries
            // included) and the day and settings it planned for. A pass that finds both unchanged (a
            // watcher's idle pass) has nothing to decide and skips the plan (`Finalizer`).
            try db.execute(sql: """
                ALTER TABLE outbox_plan ADD COLUMN planned_size INTEGER;
                ALTER TABLE outbox_plan ADD COLUMN planned_for TEXT;
                """)
        }
        migrator.registerMigration("v24-ledger-subtrees") { db in
            // The hashes of the log's perfect subtrees of 256 entries and more (about one per 128 entries),
            // kept by each checkpoint for the entries it covers: a proof reads O(log n) of them and hashes at
            // most 256 leaves a level, where it had read and hashed the whole log (448,588 entries: 0.4 s
            // and 70 MB, growing without bound). Filled here for what the checkpoints already cover.
            try db.execute(sql: """
                CREATE TABLE ledger_subtree (height INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,
                                             PRIMARY KEY (height, idx)) WITHOUT ROWID
                """)
            try Ledger.keepSubtrees(through: Int.fetchOne(db, sql: "SELECT MAX(tree_size) FROM checkpoint") ?? 0, in: db)
        }
        migrator.registerMigration("v25-unread-files") { db in
            // A file that could not be read has no fingerprint (''): a second one had broken the one-row-per-
            // fingerprint index, and stopped every run at it. Files of no known bytes are not each other's duplicates.
            try db.execute(sql: """
                DROP INDEX input_file_fingerprint;
                CREATE UNIQUE INDEX input_file_fingerprint ON input_file(fingerprint)
                    WHERE duplicate_of IS NULL AND reprocess_of IS NULL AND fingerprint <> '';
                """)
        }
        migrator.registerMigration("v26-personal-data-erasure") { db in
            // Each erasure of a technician's name and licence number (`dppsync technician erase`): the labour
            // code (which the ledger carries anyway), when, who, why, what it removed, and the files that
            // still carried them (a JSON list of paths under the root: after it, the licence cannot be searched for).
            try db.execute(sql: """
                CREATE TABLE personal_data_erasure (
                    id INTEGER PRIMARY KEY, labor_code TEXT NOT NULL, erased_at TEXT NOT NULL, erased_by TEXT NOT NULL, note TEXT,
                    details_erased INTEGER NOT NULL, review_items_redacted INTEGER NOT NULL, files_left TEXT NOT NULL)
                """)
        }
        return migrator
    }
}
