import Foundation

/// Paths for the stores and files unit tests make: inside one folder per test run, under
/// `dppsync-unit-tests/` in the temporary directory. A run keeps its own (to look at after a
/// failure) and removes those of runs more than an hour old: one file per test in the
/// temporary directory itself had piled up to thousands (`EndToEndTests` keeps its roots so).
enum TemporaryFiles {
    private static let folder: String = {
        let parent = NSTemporaryDirectory() + "dppsync-unit-tests/"
        let stale = Date().addingTimeInterval(-3600)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? [] {
            let path = parent + name
            if let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date, modified < stale {
                try? FileManager.default.removeItem(atPath: path)
            }
        }
        let folder = parent + UUID().uuidString.prefix(8) + "/"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }()

    /// A fresh path: `prefix`, a unique part, then `suffix` (e.g. `.sqlite`). Nothing is made there.
    static func path(_ prefix: String, _ suffix: String = "") -> String {
        folder + prefix + UUID().uuidString + suffix
    }
}
