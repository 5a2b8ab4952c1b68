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
        // A record no mapping could read holds nothing to review or resolve: it is rejected, its extract quarantined.
        #expect(throws: ConfigurationErrors.self) { try Configuration.load(text: "policies:\n  INVALID_FIELD: held\n", file: "c") }
    }

    @Test("source names cannot leave Inbox/")
    func sourceNames() {
        #expect(throws: ConfigurationErrors.self) { try Configuration.load(text: "sources:\n  ../etc: {}\n", file: "c") }
    }

    @Test("stability windows are 0 to 86400 seconds, expectEvery more than nothing and at most 366 days, scheduling days 0 to 3650; anything else is a configuration error", arguments: [
        "stabilityWindow: -5\n", "stabilityWindow: .inf\n", "stabilityWindow: .nan\n", "stabilityWindow: 100000\n",
        "sources:\n  registry: { stabilityWindow: -1 }\n", "sources:\n  registry: { expectEvery: infh }\n",
        "sources:\n  registry: { expectEvery: -2h }\n", "sources:\n  registry: { expectEvery: 0s }\n",
        "sources:\n  registry: { expectEvery: 1e20s }\n", "sources:\n  registry: { expectEvery: 367d }\n",
        "scheduling: { horizonDays: 1e300 }\n", "scheduling: { projectionWindowDays: 3651 }\n",
        "scheduling: { alertHighWithinHours: 8761 }\n", "scheduling: { alertHighWithinHours: 1.5 }\n",
        "scheduling: { defaultWorkHours: 0 }\n", "scheduling: { defaultWorkHours: .inf }\n",
        // The predictive High band, when written, must not be longer than the Medium one (400 h > 14 days; 72 h > 2 days).
        "scheduling: { alertHighWithinHours: 400 }\n", "scheduling: { mediumWithinDays: 2, alertHighWithinHours: 72 }\n",
    ])
    func rangesOfTimes(_ text: String) {
        #expect(throws: ConfigurationErrors.self) { try Configuration.load(text: text, file: "c") }
    }

    @Test("times in range load")
    func timesInRange() throws {
        let configuration = try Configuration.load(text: "stabilityWindow: 0\nsources:\n  registry: { stabilityWindow: 30, expectEvery: 36h }\n  caos: { expectEvery: 366d }\nscheduling: { horizonDays: 3650, alertHighWithinHours: 48, defaultWorkHours: 2.5 }\n", file: "c")
        #expect(configuration.scheduling.alertHighWithinHours == 48 && configuration.scheduling.defaultWorkHours == 2.5)
        let registry = try #require(configuration.source(named: "registry"))
        #expect(registry.stabilityWindow == 30 && registry.expectEvery == 129_600)
        #expect(configuration.source(named: "workorders")?.stabilityWindow == 0)
        #expect(configuration.source(named: "caos")?.expectEvery == 366 * 86_400 && configuration.scheduling.horizonDays == 3650)
        let bands = try Configuration.load(text: "scheduling: { mediumWithinDays: 3, alertHighWithinHours: 72 }\n", file: "c").scheduling
        #expect(bands.mediumWithinDays == 3 && bands.alertHighWithinHours == 72, "bands that meet are allowed")
        // A configuration from before the predictive keys loads as it did, whatever its Medium band.
        #expect(try Configuration.load(text: "scheduling: { mediumWithinDays: 2 }\n", file: "c").scheduling.mediumWithinDays == 2)
    }

    @Test("a predictive High band longer than the Medium one is refused at its line, naming both keys")
    func nestedBands() {
        do {
            _ = try Configuration.load(text: "stabilityWindow: 0\nscheduling:\n  mediumWithinDays: 7\n  alertHighWithinHours: 200\n", file: "dppsync.yaml")
            Issue.record("loaded")
        } catch {
            #expect("\(error)".contains("dppsync.yaml:4"), "\(error)")
            #expect("\(error)".contains("alertHighWithinHours (200 h) must not be longer than mediumWithinDays (7 days, 168 h)"), "\(error)")
            #expect(!"\(error)".contains("dppsync.yaml:3"), "one error, at the High band's line")
        }
    }
}
