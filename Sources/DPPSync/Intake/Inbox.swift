import GRDB

/// A file waiting in, or claimed from, a source's inbox folder.
public struct InboxFile: Sendable, Hashable {
    public var source: String
    public var name: String
    /// Full path where the file is now.
    public var path: String
    public var size: Int64
    /// When dppsync first saw it (seconds since the epoch): files are taken in this order.
    public var firstSeen: Double
    /// The `.done` marker that travels with the file, if any.
    public var markerPath: String?
    /// A `reprocess` copy an interrupted command left in `.processing/`: the `input_file` it runs
    /// again (from the note written beside it, `reprocessNote(for:)`).
    public var reprocessOf: Int64?
}

/// What a scan of one source found.
public struct InboxScan: Sendable {
    /// Finished files, in first-seen order then by name.
    public var ready: [InboxFile] = []
    /// Files still changing, or seen for the first time: not taken yet.
    public var settling: [InboxFile] = []
    /// Files waiting for their `.done` marker.
    public var awaitingMarker: [InboxFile] = []
    /// Entries that are not files (a symbolic link, a named pipe …), with what they are: never opened.
    public var notFiles: [(file: InboxFile, kind: FileSystem.SpecialEntry)] = []
    /// Files whose names are not UTF-8: they cannot be named to be taken, and wait until renamed.
    public var undecodableNames = 0
}

/// Judges which inbox files are finished and claims them (DESIGN.md §3).
/// Stability is judged by what dppsync itself observed, kept in the store, so
/// that successive `--once` runs count and a copied file's old mtime never does.
public struct Inbox {
    public let layout: RootLayout
    public let store: Store

    public init(layout: RootLayout, store: Store) { self.layout = layout; self.store = store }

    /// `true` for names intake never takes: hidden, temporary, markers, sidecars.
    public static func isIgnored(_ name: String) -> Bool {
        name.hasPrefix(".") || name.hasSuffix(".tmp") || name.hasSuffix(".part") || name.hasSuffix(".done")
            || name.hasSuffix(".reason.json") || name.hasSuffix("~")
    }

    /// The names in `folder` intake would take (not `isIgnored`): what waits there.
    public static func waitingNames(in folder: String) -> [String] {
        FileSystem.entries(of: folder).filter { !isIgnored($0) }
    }

    /// `true` when `name`, listed in `folder`, has bytes that are not UTF-8: listed with U+FFFD in
    /// their place, it names no file, and the file waits until someone renames it.
    public static func isUndecodable(_ name: String, in folder: String) -> Bool {
        name.contains("\u{FFFD}") && !FileSystem.exists(folder + "/" + name)
    }

    /// Why `source` is held while `count` of its files have names that are not UTF-8 (the run's words, and `status`'s).
    public static func undecodableNamesReason(_ count: Int, source: String) -> String {
        "\(count) file(s) in Inbox/\(source)/ have names that are not UTF-8 and cannot be taken; rename them"
    }

    /// Why `source` is held while something that is not a folder stands where its inbox folder should be.
    public static func notAFolderReason(source: String) -> String {
        "Inbox/\(source) is not a folder: the CMMS cannot drop files for this source (move it away; the next run makes the folder)"
    }

    /// Observes the source's folder now and sorts its files into ready and not yet.
    public func scan(_ source: SourceConfiguration, now: Double, stabilityWindow: Double? = nil) throws -> InboxScan {
        let folder = layout.inbox(source.name)
        let window = stabilityWindow ?? source.stabilityWindow
        let names = Self.waitingNames(in: folder)
        var scan = InboxScan()
        try store.write { db in
            var seen = Set<String>()
            for name in names {
                let path = folder + "/" + name
                // A link would be read where it points (another account's file, into the quarantine and the
                // reports), a named pipe would block the open: neither is ever opened.
                if let kind = FileSystem.specialKind(of: path) {
                    scan.notFiles.append((InboxFile(source: source.name, name: name, path: path, size: 0, firstSeen: now), kind))
                    continue
                }
                guard let signature = FileSystem.signature(of: path) else {
                    if Self.isUndecodable(name, in: folder) { scan.undecodableNames += 1 }
                    continue
                }
                seen.insert(name)
                let previous = try Row.fetchOne(db, sql: "SELECT size, mtime_ns, first_seen_at, unchanged_since FROM intake_observation WHERE source = ? AND name = ?", arguments: [source.name, name])
                var firstSeen = now, unchangedSince = now
                if let previous {
                    firstSeen = previous["first_seen_at"]
                    let same = (previous["size"] as Int64) == signature.size && (previous["mtime_ns"] as Int64) == signature.modifiedNanoseconds
                    unchangedSince = same ? previous["unchanged_since"] : now
                }
                try db.execute(sql: """
                    INSERT INTO intake_observation (source, name, size, mtime_ns, first_seen_at, unchanged_since) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (source, name) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns, unchanged_since = excluded.unchanged_since
                    """, arguments: [source.name, name, signature.size, signature.modifiedNanoseconds, firstSeen, unchangedSince])
                var file = InboxFile(source: source.name, name: name, path: path, size: signature.size, firstSeen: firstSeen)
                if source.markers {
                    let marker = path + ".done"
                    if FileSystem.exists(marker) { file.markerPath = marker; scan.ready.append(file) } else { scan.awaitingMarker.append(file) }
                } else if window <= 0 || (previous != nil && now - unchangedSince >= window) {
                    scan.ready.append(file)
                } else {
                    scan.settling.append(file)
                }
            }
            // Forget files that left the folder by other means.
            let stale = try String.fetchAll(db, sql: "SELECT name FROM intake_observation WHERE source = ?", arguments: [source.name]).filter { !seen.contains($0) }
            for name in stale {
                try db.execute(sql: "DELETE FROM intake_observation WHERE source = ? AND name = ?", arguments: [source.name, name])
            }
        }
        scan.ready.sort { ($0.firstSeen, $0.name) < ($1.firstSeen, $1.name) }
        return scan
    }

    /// Files a previous run claimed but did not finish: they are processed first.
    ///
    /// A marker claimed without its file (a run stopped between the two renames of `claim`) goes
    /// back to the inbox, where its file still is: the file is then claimed again, marker and all.
    public func unfinished(_ source: String) -> [InboxFile] {
        let folder = layout.processing(source)
        let entries = FileSystem.entries(of: folder)
        for marker in entries where marker.hasSuffix(".done") && !entries.contains(String(marker.dropLast(5))) {
            _ = try? FileSystem.move(folder + "/" + marker, into: layout.inbox(source))
        }
        // A reprocess note whose copy is gone (moved on, or never written) has nothing left to say.
        for note in entries where note.hasPrefix(".") && note.hasSuffix(Self.reprocessSuffix)
            && !entries.contains(String(note.dropFirst().dropLast(Self.reprocessSuffix.count))) {
            unlink(folder + "/" + note)
        }
        return entries.filter { !Self.isIgnored($0) }.compactMap { name in
            let path = folder + "/" + name
            guard let signature = FileSystem.signature(of: path) else { return nil }
            let marker = path + ".done"
            let note = (try? FileSystem.readBytes(Self.reprocessNote(for: path))).flatMap { Int64(String(decoding: $0, as: UTF8.self)) }
            return InboxFile(source: source, name: name, path: path, size: signature.size, firstSeen: 0,
                             markerPath: FileSystem.exists(marker) ? marker : nil, reprocessOf: note)
        }
    }

    static let reprocessSuffix = ".reprocess"

    /// The note beside a `reprocess` copy in `.processing/` naming the `input_file` it runs again:
    /// written before the copy, removed once the copy has moved on. Without it, a copy left by a
    /// killed `reprocess` was taken for an interrupted run's file, a duplicate, and never reprocessed.
    public static func reprocessNote(for path: String) -> String {
        (path as NSString).deletingLastPathComponent + "/." + (path as NSString).lastPathComponent + reprocessSuffix
    }

    /// Claims `file` by an atomic rename into `.processing/` (folder fsynced);
    /// its marker goes first. Returns the file at its new place.
    ///
    /// Marker first: a run stopped between the two renames then leaves a marker in `.processing/`,
    /// which `unfinished` puts back. File first had left the marker in the inbox, where it would
    /// have made the next file of that name ready while the CMMS was still writing it.
    /// - Returns: `nil` when the file is no longer there (taken away since the scan).
    public func claim(_ file: InboxFile) throws -> InboxFile? {
        let processing = layout.processing(file.source)
        try FileSystem.createDirectory(processing)
        guard FileSystem.exists(file.path) else { return nil }
        var claimed = file
        if let marker = file.markerPath {
            claimed.markerPath = try FileSystem.move(marker, into: processing)
        }
        do {
            claimed.path = try FileSystem.move(file.path, into: processing)
        } catch {
            guard !FileSystem.exists(file.path) else { throw error }
            // Gone between the check and the rename: its marker goes back, as `unfinished` would put it.
            if let marker = claimed.markerPath { _ = try? FileSystem.move(marker, into: layout.inbox(file.source)) }
            return nil
        }
        claimed.name = (claimed.path as NSString).lastPathComponent
        try store.write { db in
            try db.execute(sql: "DELETE FROM intake_observation WHERE source = ? AND name = ?", arguments: [file.source, file.name])
        }
        return claimed
    }
}

import Foundation
