@testable import DPPSync
import Testing

@Suite("the reconciliation report's CSV lines")
struct CSVLineTests {
    @Test("plain fields pass as they are; separators, quotes and line breaks are quoted; formulas are defused")
    func quoting() {
        #expect(ReconciliationReport.csvLine(["a", nil, "b c"]) == "a,,b c\r\n")
        #expect(ReconciliationReport.csvLine(["x,y", #"say "hi""#]) == "\"x,y\",\"say \"\"hi\"\"\"\r\n")
        // A CMMS text with a Windows line break is one grapheme ("\r\n"): it must still be quoted.
        #expect(ReconciliationReport.csvLine(["line one\r\nline two"]) == "\"line one\r\nline two\"\r\n")
        #expect(ReconciliationReport.csvLine(["only\nLF", "only\rCR"]) == "\"only\nLF\",\"only\rCR\"\r\n")
        #expect(ReconciliationReport.csvLine(["=SUM(A1)", "-1", "+x,y", "@cmd"]) == "'=SUM(A1),'-1,\"'+x,y\",'@cmd\r\n")
        #expect(ReconciliationReport.csvLine(["é,ü"]) == "\"é,ü\"\r\n")
        #expect(ReconciliationReport.csvLine(["\t=1+2", "\r=1"]) == "'\t=1+2,\"'\r=1\"\r\n")
    }
}
