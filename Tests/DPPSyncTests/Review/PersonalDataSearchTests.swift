@testable import DPPSync
import Foundation
import Testing

@Suite("personal data: searching files for a code")
struct PersonalDataSearchTests {
    func file(_ bytes: [UInt8]) throws -> String {
        let path = TemporaryFiles.path("code-search-", ".json")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test("a code is found as a word in either case, and across the blocks a large file is read in; not inside a longer code")
    func codeAsAWord() throws {
        let block = 1 << 20
        #expect(PersonalData.file(try file(Array(#"{"laborCode":"jsmith"}"#.utf8)), containsWord: "JSMITH"))
        #expect(!PersonalData.file(try file(Array(#"{"laborCode":"JSMITHSON"}"#.utf8)), containsWord: "JSMITH"))
        #expect(!PersonalData.file(try file(Array(#"{"laborCode":"AJSMITH"}"#.utf8)), containsWord: "JSMITH"))
        #expect(PersonalData.file(try file(Array("JSMITH".utf8)), containsWord: "JSMITH"), "the whole file")
        #expect(!PersonalData.file(try file(Array(#"{"licenceNumber":"ES.66.B1.1234"}"#.utf8)), containsWord: "1234"), "a number within a licence")
        #expect(PersonalData.file(try file(Array(#"{"laborCode":"MUÑOZ"}"#.utf8)), containsWord: "MUÑOZ"), "a capital that is not ASCII")
        #expect(PersonalData.file(try file(Array(#"{"laborCode":"muÑoz"}"#.utf8)), containsWord: "MUÑOZ"))
        // A longer code cut by a block's end is not the code; the code ending a block, or the file, is.
        let padding = [UInt8](repeating: UInt8(ascii: " "), count: block - 6)
        #expect(!PersonalData.file(try file(padding + Array("JSMITHSON".utf8)), containsWord: "JSMITH"))
        #expect(PersonalData.file(try file(padding + Array("JSMITH SON".utf8)), containsWord: "JSMITH"))
        #expect(PersonalData.file(try file(padding + Array("JSMITH".utf8)), containsWord: "JSMITH"), "a file of exactly one block")
        #expect(!PersonalData.file(try file(padding.dropLast(1) + Array("XJSMITH".utf8) + Array(" ".utf8)), containsWord: "JSMITH"),
                "a longer code starting in one block")
    }

    @Test("a UTF-16 file (by its byte-order mark, either order) is searched as its text, across blocks")
    func utf16Files() throws {
        func utf16(_ text: String, bigEndian: Bool) -> [UInt8] {
            (bigEndian ? [0xFE, 0xFF] : [0xFF, 0xFE]) + text.utf16.flatMap { unit -> [UInt8] in
                let (high, low) = (UInt8(unit >> 8), UInt8(unit & 0xFF))
                return bigEndian ? [high, low] : [low, high]
            }
        }
        for bigEndian in [false, true] {
            #expect(PersonalData.file(try file(utf16(#"<LABORCODE>jsmith</LABORCODE>"#, bigEndian: bigEndian)), containsWord: "JSMITH"))
            #expect(!PersonalData.file(try file(utf16(#"<LABORCODE>JSMITHSON</LABORCODE>"#, bigEndian: bigEndian)), containsWord: "JSMITH"))
            #expect(PersonalData.file(try file(utf16("MUÑOZ 😀", bigEndian: bigEndian)), containsWord: "MUÑOZ"))
            // Around the first block's end.
            for shift in 0..<3 {
                let text = String(repeating: " ", count: (1 << 19) - 3 - shift) + "😀 JSMITH 😀"
                #expect(PersonalData.file(try file(utf16(text, bigEndian: bigEndian)), containsWord: "JSMITH"), "shift \(shift)")
                #expect(!PersonalData.file(try file(utf16(text.replacingOccurrences(of: "JSMITH ", with: "JSMITHX"), bigEndian: bigEndian)), containsWord: "JSMITH"))
            }
        }
        // Without a byte-order mark, bytes are searched as they are.
        #expect(!PersonalData.file(try file(Array(utf16("JSMITH", bigEndian: false).dropFirst(2))), containsWord: "JSMITH"))
    }
}
