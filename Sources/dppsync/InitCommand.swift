import ArgumentParser
import DPPSync

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a root: folders, a commented dppsync.yaml and the default mappings.",
        discussion: """
            Safe to run twice: an existing file (an edited config or mapping) is never overwritten.

            Example:
              dppsync init --root /srv/dppsync
            """
    )

    @OptionGroup var options: RootOptions

    func run() throws {
        let report = try RootInitializer(layout: options.layout).run()
        for path in report.created { print("created  \(path)") }
        for path in report.kept { print("kept     \(path) (exists)") }
        print("root ready: \(options.layout.root)")
    }
}
