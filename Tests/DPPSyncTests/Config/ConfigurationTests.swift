@testable import DPPSync
import Testing

@Suite("dppsync.yaml")
struct ConfigurationTests {
    @Test("the shipped template loads, in dependency order, with its policies")
    func template() throws {
        let key = LedgerSigner(name: "dppsync.local/ampel360").verifier
        let configuration = try Configuration.load(text: ConfigTemplate.text(verifierKey: key), file: "dppsync.yaml")
        #expect(configuration.ledgerVerifierKey == key)
        #expect(configuration.ledgerOrigin == "dppsync.local/ampel360")
        #expect(configuration.sources.map(\.name) == SourceConfiguration.defaultOrder)
        #expect(configuration.source(named: "workorders")?.expectEvery == 86_400)
        #expect(configuration.source(named: "workorders")?.stabilityWindow == 10)
        #expect(configuration.source(named: "registry")?.stabilityWindow == 5)
        #expect(configuration.outcome(for: .unknownAsset) == .held)
        #expect(configuration.outcome(for: .staleUpdate) == .superseded)
    }

    @Test("policies accept only configurable codes and allowed outcomes")
    func policies() throws {
        let ok = try Configuration.load(text: "policies:\n  UNKNOWN_PART: rejected\n", file: "c")
        #expect(ok.outcome(for: .unknownPart) == .rejected)
        #expect(throws: ConfigurationErrors.self) { try Configuration.load(text: "policies:\n  UNKNOWN_PART: applied\n", file: "c") }
        #expect(throws: ConfigurationErrors.self) { try Configuration.load(text: "policies:\n  DUPLICATE_FILE: held\n", file: "c") }
    }

    @Test("source names cannot leave Inbox/")
    func sourceNames() {
        #expect(throws: ConfigurationErrors.self) { try Configuration.load(text: "sources:\n  ../etc: {}\n", file: "c") }
    }
}
