import CLibXML2

/// Collects libxml2's structured errors for one operation instead of letting
/// them print to standard error. Only the first is kept, with its line, and the rest counted:
/// every error refuses the file, and a file of 2 M elements with an undeclared prefix had kept
/// 2 M messages (272 MB).
final class XMLErrorCollector {
    private(set) var firstMessage: String?
    private(set) var firstLine: Int?
    private(set) var count = 0

    func record(_ error: xmlErrorPtr?) {
        guard let error, error.pointee.level.rawValue >= XML_ERR_ERROR.rawValue else { return }
        count += 1
        guard firstMessage == nil else { return }
        firstMessage = error.pointee.message.map { String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? "error"
        if error.pointee.line > 0 { firstLine = Int(error.pointee.line) }
    }

    /// Runs `body` with this collector as libxml2's structured error handler on this thread.
    func collecting<T>(_ body: () -> T) -> T {
        xmlSetStructuredErrorFunc(Unmanaged.passUnretained(self).toOpaque()) { context, error in
            guard let context else { return }
            Unmanaged<XMLErrorCollector>.fromOpaque(context).takeUnretainedValue().record(error)
        }
        defer { xmlSetStructuredErrorFunc(nil, nil) }
        return body()
    }
}

import Foundation
