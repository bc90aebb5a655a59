import ElmanFiles
#if canImport(Glibc)
import Glibc
#endif

/// What to do with a missing or non-numeric value in a column that is used.
public enum MissingPolicy: String, Sendable, CaseIterable, Codable {
    /// Stop with an error naming the file, line and column.
    case error
    /// Drop the whole row.
    case drop
    /// Repeat the previous row's value (forward fill).
    case ffill
}

/// Reads the numeric columns a run needs from a CSV file with a header row.
///
/// Only the named columns are parsed, so text columns such as dates cost nothing and
/// never fail; rows keep file order. Quoted fields (RFC 4180) are understood.
public struct CSVReader {
    /// Columns to read as numbers, in output order.
    public var columns: [String]
    /// Keep only rows whose column equals a value (long-format files: `symbol=AAPL`).
    public var filter: (column: String, value: String)?
    public var missing: MissingPolicy

    public init(columns: [String], filter: (column: String, value: String)? = nil, missing: MissingPolicy = .error) {
        self.columns = columns
        self.filter = filter
        self.missing = missing
    }

    /// Largest CSV file accepted, so hostile input cannot exhaust memory.
    public static let maxFileSize = 1 << 30

    /// Reads `path`.
    public func read(path: String) throws(DataError) -> Table {
        try parse(try readFile(path), name: path)
    }

    /// Parses CSV `text`; `name` is used in error messages.
    public func parse(_ text: String, name: String) throws(DataError) -> Table {
        var lines = CSVLines(text)
        guard let (headerLine, header) = try lines.next(name: name) else { throw DataError("\(name): file is empty") }
        _ = headerLine
        let fields = header.map { $0.trimmingSpaces }
        var firstColumn: [String: Int] = [:]
        for (k, field) in fields.enumerated() {
            if let earlier = firstColumn[field] {
                throw DataError(
                    "\(name):1: column \(k + 1) repeats the name '\(String(field.prefix(40)).printable)' of column \(earlier + 1)"
                )
            }
            firstColumn[field] = k
        }
        func index(_ column: String) throws(DataError) -> Int {
            guard let i = firstColumn[column] else {
                // A wide header is listed in part: the message stays one readable line.
                let shown = fields.prefix(20).map { String($0.prefix(40)).printable }.joined(separator: ", ")
                let more = fields.count > 20 ? ", … (\(fields.count - 20) more)" : ""
                throw DataError(
                    "\(name): no column '\(String(column.prefix(40)).printable)' (columns: \(shown)\(more))")
            }
            return i
        }
        let wanted = try columns.map { (c) throws(DataError) in try index(c) }
        let filterIndex = try filter.map { (f) throws(DataError) in try index(f.column) }
        var out = [[Double]](repeating: [], count: columns.count)
        var seenFilterValues: [String] = []
        var previous: [Double]? = nil
        while let (lineNumber, record) = try lines.next(name: name) {
            if record.count == 1 && record[0].isEmpty { continue }  // blank line
            guard record.count == fields.count else {
                throw DataError("\(name):\(lineNumber): \(record.count) fields, the header has \(fields.count)")
            }
            if let fi = filterIndex, let f = filter {
                let v = record[fi].trimmingSpaces
                guard v == f.value else {
                    if seenFilterValues.count < 8 && !seenFilterValues.contains(v.printable) {
                        seenFilterValues.append(v.printable)
                    }
                    continue
                }
            }
            var row = [Double](repeating: 0, count: wanted.count)
            var dropRow = false
            for (k, i) in wanted.enumerated() {
                let raw = record[i].trimmingSpaces
                // Double(String) stops at a NUL byte ("2\0" + "34" would read as 2): refuse it.
                if raw.utf8.contains(0) {
                    throw DataError("\(name):\(lineNumber): a NUL byte in column '\(columns[k])'")
                }
                if let v = Double(raw), v.isFinite {
                    // Training is in float32: a value beyond its range would become infinite.
                    guard abs(v) <= Double(Float.greatestFiniteMagnitude) else {
                        throw DataError(
                            "\(name):\(lineNumber): value \(String(raw.prefix(40)).printable) in column '\(columns[k])' is outside float32's range (±3.4e38)"
                        )
                    }
                    row[k] = v
                    continue
                }
                let what =
                    raw.isEmpty || ["na", "nan", "null", "none"].contains(raw.lowercased())
                    ? "missing value" : "non-numeric value '\(String(raw.prefix(40)).printable)'"
                switch missing {
                case .error:
                    throw DataError(
                        "\(name):\(lineNumber): \(what) in column '\(columns[k])' (use `missing` drop|ffill to accept)")
                case .drop:
                    dropRow = true
                case .ffill:
                    guard let p = previous else {
                        throw DataError(
                            "\(name):\(lineNumber): \(what) in column '\(columns[k])' with no earlier value to fill from"
                        )
                    }
                    row[k] = p[k]
                }
            }
            if dropRow { continue }
            for k in row.indices { out[k].append(row[k]) }
            previous = row
        }
        if out.first?.isEmpty ?? true {
            if let f = filter {
                throw DataError(
                    "\(name): no rows with \(f.column)=\(f.value) (values seen: \(seenFilterValues.joined(separator: ", ")))"
                )
            }
            throw DataError("\(name): no data rows")
        }
        return Table(names: columns, columns: out)
    }

    /// The header's column names of a CSV file.
    public static func header(path: String) throws(DataError) -> [String] {
        var lines = CSVLines(try readFile(path))
        guard let (_, header) = try lines.next(name: path) else { throw DataError("\(path): file is empty") }
        return header.map { $0.trimmingSpaces }
    }
}

/// Reads a whole text file for a data source (at most `CSVReader.maxFileSize` bytes).
func readFile(_ path: String) throws(DataError) -> String {
    do { return try Files.readText(path, limit: CSVReader.maxFileSize) } catch { throw DataError(error.message) }
}

/// Iterates the records of CSV text with their 1-based line numbers, honouring quotes.
struct CSVLines {
    private let bytes: [UInt8]
    private var i = 0
    private var line = 1

    init(_ text: String) {
        var b = Array(text.utf8)
        if b.starts(with: [0xEF, 0xBB, 0xBF]) { b.removeFirst(3) }  // UTF-8 byte-order mark
        bytes = b
    }

    /// The next record, or nil at the end.
    mutating func next(name: String) throws(DataError) -> (line: Int, fields: [String])? {
        guard i < bytes.count else { return nil }
        let start = line
        var fields: [String] = []
        var field: [UInt8] = []
        var quoted = false
        while i < bytes.count {
            let c = bytes[i]
            i += 1
            if quoted {
                if c == UInt8(ascii: "\"") {
                    if i < bytes.count && bytes[i] == UInt8(ascii: "\"") {
                        field.append(c); i += 1
                    } else {
                        quoted = false
                    }
                } else {
                    if c == 0x0A { line += 1 }
                    field.append(c)
                }
                continue
            }
            switch c {
            case UInt8(ascii: "\""): quoted = true
            case UInt8(ascii: ","):
                fields.append(String(decoding: field, as: UTF8.self))
                field.removeAll(keepingCapacity: true)
            case 0x0D: continue
            case 0x0A:
                line += 1
                fields.append(String(decoding: field, as: UTF8.self))
                return (start, fields)
            default: field.append(c)
            }
        }
        if quoted { throw DataError("\(name):\(start): unterminated quoted field") }
        fields.append(String(decoding: field, as: UTF8.self))
        return (start, fields)
    }
}

extension String {
    /// The text with control characters escaped (`\n`, `\u{7}`), so a message stays on one line.
    var printable: String {
        var out = ""
        for u in unicodeScalars {
            switch u {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default: out += u.properties.generalCategory == .control ? "\\u{\(String(u.value, radix: 16))}" : String(u)
            }
        }
        return out
    }

    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
