import Foundation

/// Paths for the stores and files unit tests make: inside one folder per test run, under
/// `dppsync-unit-tests/` in the temporary directory, named by the run's process id. A run
/// removes the folders of runs that are no longer alive and keeps its own (to look at after a
/// failure): one file per test in the temporary directory itself had piled up to thousands.
enum TemporaryFiles {
    private static let folder: String = {
        let parent = NSTemporaryDirectory() + "dppsync-unit-tests/"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? [] {
            guard let pid = Int32(name), pid > 0, pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            try? FileManager.default.removeItem(atPath: parent + name)
        }
        let folder = parent + String(getpid()) + "/"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }()

    /// A fresh path: `prefix`, a unique part, then `suffix` (e.g. `.sqlite`). Nothing is made there.
    static func path(_ prefix: String, _ suffix: String = "") -> String {
        folder + prefix + UUID().uuidString + suffix
    }
}
