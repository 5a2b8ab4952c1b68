import CLibXML2

/// Collects libxml2's structured errors for one operation instead of letting
/// them print to standard error; each message keeps its line.
final class XMLErrorCollector {
    private(set) var messages: [String] = []
    private(set) var firstLine: Int?

    func record(_ error: xmlErrorPtr?) {
        guard let error, error.pointee.level.rawValue >= XML_ERR_ERROR.rawValue else { return }
        let text = error.pointee.message.map { String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? "error"
        if firstLine == nil, error.pointee.line > 0 { firstLine = Int(error.pointee.line) }
        messages.append(text)
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
