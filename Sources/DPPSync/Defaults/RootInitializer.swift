
/// `dppsync init`: creates a root's folders, the commented default config and
/// the default mappings. Safe to run twice: an existing file is never overwritten.
public struct RootInitializer {
    public let layout: RootLayout
    public init(layout: RootLayout) { self.layout = layout }

    /// What `init` did, file by file, for the command to print.
    public struct Report: Sendable {
        public var created: [String] = []
        public var kept: [String] = []
    }

    /// - Parameter configuration: the root's existing configuration, if it has one.
    public func run(configuration: Configuration? = nil) throws -> Report {
        var report = Report()
        var folders = [layout.inbox, layout.outbox, layout.mappings, layout.archive, layout.quarantine, layout.reports, layout.state]
        folders += SourceConfiguration.defaultOrder.map(layout.inbox)
        for folder in folders where !FileSystem.isDirectory(folder) {
            try FileSystem.createDirectory(folder)
            report.created.append(folder + "/")
        }
        // The key is named after the ledger origin of an existing config, else the template's.
        let keyFile = layout.state + "/ledger.key"
        let keyExisted = FileSystem.exists(keyFile)
        let signer = try Ledger.ensureKey(at: keyFile, origin: (configuration ?? Configuration()).ledgerOrigin)
        if !keyExisted { report.created.append(keyFile + " (mode 0600)") }
        try place(ConfigTemplate.text(verifierKey: signer.verifier), at: layout.configFile, report: &report)
        try FileSystem.createDirectory(layout.mappings + "/tests")
        try FileSystem.createDirectory(layout.mappings + "/examples")
        for (name, text) in DefaultMappings.files {
            try place(text, at: layout.mappings + "/" + name, report: &report)
        }
        _ = try Store(path: layout.storeFile)
        return report
    }

    private func place(_ text: String, at path: String, report: inout Report) throws {
        if FileSystem.exists(path) { report.kept.append(path); return }
        try FileSystem.writeAtomically(text, to: path)
        report.created.append(path)
    }
}
