import DPPSync
import Foundation
import Testing

@Suite("init and status")
struct InitAndStatusTests {
    @Test("init creates the root and never overwrites an edited file")
    func initIsIdempotent() throws {
        let cli = try CLI.freshRoot()
        for folder in ["Inbox/registry", "Inbox/workorders", "Inbox/ground-windows", "Outbox", "Archive", "Quarantine", "Reports", "State"] {
            #expect(FileSystem.isDirectory(cli.root + "/" + folder), "\(folder) missing")
        }
        let config = cli.layout.configFile
        #expect(try String(contentsOfFile: config, encoding: .utf8).contains("expectEvery"))
        try "timeZone: Europe/Berlin\n".write(toFile: config, atomically: true, encoding: .utf8)
        let mapping = cli.layout.mappings + "/registry.mapping.yaml"
        let edited = try String(contentsOfFile: mapping, encoding: .utf8) + "# edited by the admin\n"
        try edited.write(toFile: mapping, atomically: true, encoding: .utf8)

        let again = try cli.run("init")
        #expect(again.status == 0)
        #expect(again.stdout.contains("kept"))
        #expect(try String(contentsOfFile: config, encoding: .utf8) == "timeZone: Europe/Berlin\n")
        #expect(try String(contentsOfFile: mapping, encoding: .utf8) == edited)
    }

    @Test("the binary carries the default mappings: they match Mappings/ and pass mapping check")
    func defaultsAreCompiledIn() throws {
        let repositoryMappings = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Mappings").path
        for (name, text) in DefaultMappings.files {
            let shipped = try String(contentsOfFile: repositoryMappings + "/" + name, encoding: .utf8)
            #expect(shipped == text, "Mappings/\(name) differs from the compiled-in copy: run Scripts/generate-defaults.py")
        }
        let cli = try CLI.freshRoot()
        let check = try cli.run("mapping", "check")
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains("registry.mapping.yaml: ok"))
    }

    @Test("status flags a late source and lists waiting files, as text and JSON")
    func statusFlagsLateSources() throws {
        let cli = try CLI.freshRoot()
        try "sources:\n  registry: { expectEvery: 24h }\n  workorders: { expectEvery: 1h }\n".write(toFile: cli.layout.configFile, atomically: true, encoding: .utf8)
        try cli.dropFixture("work-order-complete.json", source: "workorders")
        let text = try cli.run("status")
        #expect(text.status == 0)
        #expect(text.stdout.contains("LATE"))
        let json = try cli.run("status", "--json")
        let parsed = try JSONParser.parseDocument(Array(json.stdout.utf8))
        guard case .array(let sources)? = parsed["sources"] else { Issue.record("no sources"); return }
        let registry = sources.first { $0["name"] == .string("registry") }
        let workorders = sources.first { $0["name"] == .string("workorders") }
        #expect(registry?["late"] == .bool(true))
        #expect(workorders?["waiting"] == .number("1"))
        let programme = sources.first { $0["name"] == .string("programme") }
        #expect(programme?["late"] == .bool(false), "a source without expectEvery is never late")
    }

    @Test("a broken dppsync.yaml is a usage error (exit 2) naming line and column")
    func brokenConfigIsUsageError() throws {
        let cli = try CLI.freshRoot()
        try "timeZone: UTC\nsourcez: {}\n".write(toFile: cli.layout.configFile, atomically: true, encoding: .utf8)
        let result = try cli.run("run", "--once")
        #expect(result.status == 2)
        #expect(result.stderr.contains("dppsync.yaml:2:1"))
        #expect(result.stderr.contains("did you mean 'sources'"))
    }

    @Test("every command explains itself with an example under --help")
    func helpHasExamples() throws {
        let cli = try CLI.freshRoot()
        for command in [["init"], ["run"], ["status"], ["mapping", "check"], ["report", "reconciliation"]] {
            let result = try cli.run(arguments: command + ["--help"])
            #expect(result.status == 0)
            #expect(result.stdout.contains("Example"), "\(command) --help has no example")
        }
    }
}
