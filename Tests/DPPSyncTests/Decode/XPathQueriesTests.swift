@testable import DPPSync
import Testing

@Suite("XPath queries: plain child names without XPath")
struct XPathQueriesTests {
    let namespaces = ["mx": "http://www.ibm.com/maximo"]

    /// What `path` names, as text: `{uri}local`, `local`, or `xpath` for a path left to XPath.
    func named(_ queries: XPathQueries, _ path: String) -> String {
        guard let name = queries.childName(FieldPath(path, json: nil)) else { return "xpath" }
        let local = String(decoding: name.localName, as: UTF8.self)
        return name.namespace.map { "{\(String(decoding: $0, as: UTF8.self))}\(local)" } ?? local
    }

    @Test("the same answer for a path whatever order records ask in")
    func childNamesInAnyOrder() throws {
        let expected = ["WONUM": "WONUM", "mx:SITEID": "{http://www.ibm.com/maximo}SITEID", "zz:X": "xpath", "LABTRANS/LABORCODE": "xpath"]
        let queries = try XPathQueries(document: nil, namespaces: namespaces)
        defer { queries.free() }
        // Record after record in one order, then out of it, then a path seen once only.
        let orders = [["WONUM", "mx:SITEID", "zz:X"], ["WONUM", "mx:SITEID", "zz:X"], ["mx:SITEID", "WONUM"],
                      ["zz:X", "LABTRANS/LABORCODE", "WONUM"], ["WONUM", "mx:SITEID", "zz:X", "LABTRANS/LABORCODE"]]
        for order in orders {
            for path in order { #expect(named(queries, path) == expected[path], "\(path) in \(order)") }
        }
    }
}
