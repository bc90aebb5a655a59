import Dispatch
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
    /// A column of series identities (a long-format panel): read as text, each row's series
    /// kept in `Table.keys`.
    public var key: String?
    /// A column of timestamps (`Timestamp` formats): read as times, kept in `Table.times`.
    public var time: String?
    /// Keep a missing or non-numeric cell as NaN (a wide panel, whose series each handle their
    /// own gaps) instead of applying `missing` to the row.
    var keepsMissing = false
    /// How many stretches a large file is parsed in at once: the cores (tests set more).
    var stretchCount = systemCores()

    public init(
        columns: [String], filter: (column: String, value: String)? = nil, missing: MissingPolicy = .error,
        key: String? = nil
    ) {
        self.columns = columns
        self.filter = filter
        self.missing = missing
        self.key = key
    }

    /// Largest CSV file accepted, so hostile input cannot exhaust memory.
    public static let maxFileSize = 1 << 30

    /// Reads `path`: its bytes are scanned in place, never copied into a `String`.
    public func read(path: String) throws(DataError) -> Table {
        // Mapped, checked and parsed front to back, the pages behind the reader handed back:
        // a 130 MB file no longer stays resident while it is parsed (5M rows: peak 223 → 144
        // MiB in bench --data). The check is made stretch by stretch on every core, with the
        // count of lines (`Stretch.measure`).
        let file = try mapFile(path)
        return try parse(buffer: file.bytes, name: path, file: file)
    }

    /// Parses CSV `text`; `name` is used in error messages.
    public func parse(_ text: String, name: String) throws(DataError) -> Table {
        try parse(bytes: Array(text.utf8), name: name)
    }

    /// Parses CSV bytes (valid UTF-8); `name` is used in error messages.
    ///
    /// Fields are byte ranges of one record at a time; only the header, the wanted numbers and
    /// the words of messages become strings, which made reading 5 M rows several times faster
    /// than a `String` per field.
    func parse(bytes: [UInt8], name: String) throws(DataError) -> Table {
        try bytes.withUnsafeBufferPointer { (buffer) throws(DataError) in
            try parse(buffer: buffer, name: name, file: nil)
        }
    }

    /// Parses `buffer`, the bytes of `file` when it is mapped (pages read are then handed back).
    ///
    /// A large file is parsed on every core: its records are cut into stretches at newlines,
    /// each parsed into its own columns, and the stretches joined in file order. Only files
    /// without quotes (a quoted field may hold a newline) and without `missing` ffill (a
    /// stretch's first rows would fill from the one before) are cut; every message is the one
    /// a single pass gives, as the first stretch with a problem is the earliest in the file.
    func parse(
        buffer: UnsafeBufferPointer<UInt8>, name: String, file: MappedFile?
    ) throws(DataError) -> Table {
        // A mapped file is checked for UTF-8 here (bytes from a String are UTF-8 already): the
        // header now, the records with their line counts below.
        if file != nil, let base = buffer.baseAddress {
            let header = memchr(base, 0x0A, buffer.count).map { UnsafePointer<UInt8>($0.assumingMemoryBound(to: UInt8.self)) - base + 1 } ?? buffer.count
            guard UTF8Scalar.firstInvalid(UnsafeBufferPointer(rebasing: buffer[0..<header])) == nil else {
                throw DataError("\(name): not UTF-8 text")
            }
        }
        var lines = CSVLines(buffer)
        guard try lines.next(name: name) != nil else { throw DataError("\(name): file is empty") }
        let fields = lines.fields.indices.map { lines.string($0).trimmingSpaces }
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
        let layout = RecordLayout(
            fieldCount: fields.count, wanted: try columns.map { (c) throws(DataError) in try index(c) },
            filterIndex: try filter.map { (f) throws(DataError) in try index(f.column) },
            keyIndex: try key.map { (k) throws(DataError) in try index(k) },
            timeIndex: try time.map { (t) throws(DataError) in try index(t) })
        let cut =
            missing == .ffill ? [Stretch(bytes: lines.offset..<buffer.count, firstLine: lines.line)]
            : Stretch.cut(buffer, from: lines.offset, firstLine: lines.line, parts: stretchCount)
        guard let stretches = Stretch.measure(cut, in: buffer, checking: file) else {
            throw DataError("\(name): not UTF-8 text")
        }
        let parts: [StretchResult]
        if stretches.count == 1 {
            parts = [
                parseStretch(
                    buffer, stretches[0], layout: layout, name: name, first: true, capacity: stretches[0].lines ?? 0,
                    consumed: { file?.release(before: $0) })
            ]
        } else {
            nonisolated(unsafe) var results = [StretchResult?](repeating: nil, count: stretches.count)
            // Each thread reads its own stretch of the (unchanging) bytes and writes its own slot.
            nonisolated(unsafe) let reader = self, bytes = buffer
            // The first stretch reserves the whole file's records, so that the join appends the
            // others in place: no second copy of the columns.
            let total = stretches.reduce(0) { $0 + ($1.lines ?? 0) }
            results.withUnsafeMutableBufferPointer { slots in
                nonisolated(unsafe) let slots = slots
                DispatchQueue.concurrentPerform(iterations: stretches.count) { k in
                    let start = stretches[k].bytes.lowerBound
                    slots[k] = reader.parseStretch(
                        bytes, stretches[k], layout: layout, name: name, first: k == 0,
                        capacity: k == 0 ? total : stretches[k].lines ?? 0,
                        consumed: { file?.release(start..<$0) })
                }
            }
            parts = results.compactMap { $0 }
        }
        // Handed over, not copied: the join frees each stretch's column as it appends it.
        return try join(consume parts, layout: layout, name: name)
    }

    /// Where a record's fields are: the header's width and the columns a run reads.
    struct RecordLayout: Sendable {
        var fieldCount: Int
        var wanted: [Int]
        var filterIndex: Int?
        var keyIndex: Int?
        var timeIndex: Int?
    }

    /// What one stretch of records gave.
    struct StretchResult {
        var out: [[Double]]
        var keys: [Int32] = []
        var keyValues: [String] = []
        var times: [Double] = []
        var firstBadCell: String? = nil
        var firstRowBad = false
        var kept = 0
        var records = 0
        var seenFilterValues: [String] = []
        var otherFilterValues: Set<String> = []
        var error: DataError? = nil
    }

    /// Parses the records of one stretch (`first`: the file's first records).
    ///
    /// `capacity`: rows to reserve room for (0: grow as needed).
    func parseStretch(
        _ buffer: UnsafeBufferPointer<UInt8>, _ stretch: Stretch, layout: RecordLayout, name: String, first: Bool,
        capacity: Int = 0, consumed: (Int) -> Void
    ) -> StretchResult {
        var result = StretchResult(out: [[Double]](repeating: [], count: columns.count))
        do throws(DataError) {
            try parseRecords(
                buffer, stretch, layout: layout, name: name, first: first, reserving: capacity, into: &result,
                consumed: consumed)
        } catch {
            result.error = error
        }
        return result
    }

    private func parseRecords(
        _ buffer: UnsafeBufferPointer<UInt8>, _ stretch: Stretch, layout: RecordLayout, name: String, first: Bool,
        reserving capacity: Int, into result: inout StretchResult, consumed: (Int) -> Void
    ) throws(DataError) {
        var lines = CSVLines(
            UnsafeBufferPointer(rebasing: buffer[stretch.bytes]), firstLine: stretch.firstLine, skipsBOM: false,
            plain: stretch.plain)
        let origin = stretch.bytes.lowerBound
        let fieldCount = layout.fieldCount, wanted = layout.wanted
        let filterIndex = layout.filterIndex, keyIndex = layout.keyIndex, timeIndex = layout.timeIndex
        var times: [Double] = []
        // Series identities: each distinct one once, rows by number. Rows of one series usually
        // follow each other, so the last identity is compared first and a String is made only
        // when it changes.
        var keys: [Int32] = [], keyValues: [String] = [], keyNumbers: [String: Int32] = [:]
        var lastKey: [UInt8] = [], lastKeyNumber: Int32 = -1
        var seriesLast: [[Double]?] = []  // with `missing` ffill: each series' last kept row
        var out = [[Double]](repeating: [], count: columns.count)
        // Room for every record at once: growing by doubling copied each column several times
        // and left up to half of it unused (untouched room costs no memory until written).
        if capacity > 0 {
            for k in out.indices { out[k].reserveCapacity(capacity) }
            if keyIndex != nil { keys.reserveCapacity(capacity) }
            if timeIndex != nil { times.reserveCapacity(capacity) }
        }
        var seenFilterValues: [String] = []
        var otherFilterValues: Set<String> = []  // distinct values past the first 8, counted up to a bound
        // With `missing` error, the first bad cell; the file is read on in drop mode so that the
        // message can say whether --missing drop or ffill would work.
        var firstBadCell: String? = nil
        var firstRowBad = false, kept = 0, records = 0
        var row = [Double](repeating: 0, count: wanted.count)  // the record being read, reused
        let filterValue = filter.map { Array($0.value.utf8) }
        defer {
            result.out = out
            result.keys = keys
            result.keyValues = keyValues
            result.times = times
            result.firstBadCell = firstBadCell
            result.firstRowBad = firstRowBad
            result.kept = kept
            result.records = records
            result.seenFilterValues = seenFilterValues
            result.otherFilterValues = otherFilterValues
        }
        while let lineNumber = try lines.next(name: name) {
            if lineNumber & 0xFFFF == 0 { consumed(origin + lines.offset) }
            if lines.fieldCount == 1 && lines.field(0).isEmpty { continue }  // blank line
            guard lines.fieldCount == fieldCount else {
                throw DataError("\(name):\(lineNumber): \(lines.fieldCount) fields, the header has \(fieldCount)")
            }
            if let fi = filterIndex, let wantedValue = filterValue {
                let r = lines.trimmed(fi)
                let matches = lines.withText { all in
                    wantedValue.withUnsafeBufferPointer { UnsafeBufferPointer(rebasing: all[r]).elementsEqual($0) }
                }
                guard matches else {
                    let v = lines.string(range: r).printable
                    if seenFilterValues.count < 8 {
                        if !seenFilterValues.contains(v) { seenFilterValues.append(v) }
                    } else if otherFilterValues.count <= 10_000 && !seenFilterValues.contains(v) {
                        otherFilterValues.insert(v)
                    }
                    continue
                }
            }
            records += 1
            var rowKey: Int32 = -1
            if let ki = keyIndex {
                let r = lines.trimmed(ki)
                // memcmp: the generic elementsEqual was 4% of a 10M-row panel's load.
                let same =
                    lastKeyNumber >= 0 && r.count == lastKey.count
                    && lines.withText { all in
                        lastKey.withUnsafeBufferPointer { key in
                            guard let a = all.baseAddress, let k = key.baseAddress else { return r.isEmpty }
                            return memcmp(a + r.lowerBound, k, r.count) == 0
                        }
                    }
                if same {
                    rowKey = lastKeyNumber
                } else {
                    let text = lines.string(range: r)
                    guard !text.isEmpty else {
                        throw DataError("\(name):\(lineNumber): the series column '\(key ?? "")' is empty")
                    }
                    if let known = keyNumbers[text] {
                        rowKey = known
                    } else {
                        rowKey = Int32(keyValues.count)
                        keyNumbers[text] = rowKey
                        keyValues.append(text)
                    }
                    lastKey = Array(text.utf8)
                    lastKeyNumber = rowKey
                }
            }
            var rowTime = 0.0
            if let ti = timeIndex {
                let r = lines.trimmed(ti)
                guard let t = lines.withText({ Timestamp.parse(bytes: Array($0[r])[...]) }) else {
                    let raw = lines.string(range: r)
                    throw DataError(
                        "\(name):\(lineNumber): '\(String(raw.prefix(40)).printable)' in the time column '\(time ?? "")' is not a date (2010-01-31, 2010-01-31T13:00, 2010/01/31 13:00 or Jan 31 2010)"
                    )
                }
                rowTime = t
            }
            var dropRow = false
            for (k, i) in wanted.enumerated() {
                let r = lines.trimmed(i)
                if let v = lines.withText({
                    Self.plainDecimal(UnsafeBufferPointer(rebasing: $0[r]))
                }) {
                    row[k] = v
                    continue
                }
                // Double(String) stops at a NUL byte ("2\0" + "34" would read as 2): refuse it.
                // A number is a few bytes: a small string, kept inline, and Swift's own exact parser.
                let (hasNUL, raw) = lines.withText { all in
                    let field = UnsafeBufferPointer(rebasing: all[r])
                    return (field.contains(0), String(decoding: field, as: UTF8.self))
                }
                if hasNUL { throw DataError("\(name):\(lineNumber): a NUL byte in column '\(columns[k])'") }
                switch NumberText.parse(raw) {
                case let .value(v):
                    row[k] = v
                    continue
                case .outOfRange:
                    // Training is in float32: a value beyond its range would become infinite.
                    throw DataError(
                        "\(name):\(lineNumber): value \(String(raw.prefix(40)).printable) in column '\(columns[k])' is outside float32's range (±3.4e38)"
                    )
                case .notANumber:
                    if keepsMissing {
                        row[k] = .nan
                        continue
                    }
                }
                let what =
                    raw.isEmpty || ["na", "nan", "null", "none"].contains(raw.lowercased())
                    ? "missing value" : "non-numeric value '\(String(raw.prefix(40)).printable)'"
                switch missing {
                case .error:
                    if firstBadCell == nil { firstBadCell = "\(name):\(lineNumber): \(what) in column '\(columns[k])'" }
                    if first && records == 1 { firstRowBad = true }
                    dropRow = true
                case .drop:
                    dropRow = true
                case .ffill:
                    // The previous kept row's value (of the same series, in a panel).
                    let previous =
                        keyIndex == nil
                        ? out[k].last : (Int(rowKey) < seriesLast.count ? seriesLast[Int(rowKey)]?[k] : nil)
                    guard let p = previous else {
                        throw DataError(
                            "\(name):\(lineNumber): \(what) in column '\(columns[k])' with no earlier value to fill from"
                        )
                    }
                    row[k] = p
                }
            }
            if dropRow { continue }
            kept += 1
            guard firstBadCell == nil else { continue }  // only counting now
            for k in row.indices { out[k].append(row[k]) }
            if timeIndex != nil { times.append(rowTime) }
            if keyIndex != nil {
                keys.append(rowKey)
                if missing == .ffill {
                    while seriesLast.count <= Int(rowKey) { seriesLast.append(nil) }
                    seriesLast[Int(rowKey)] = row
                }
            }
        }
    }

    /// The stretches joined in file order, with the messages a single pass gives.
    private func join(_ parts: consuming [StretchResult], layout: RecordLayout, name: String) throws(DataError)
        -> Table
    {
        // The earliest problem in the file: a stretch's error ends it, as it ends a single pass.
        for k in parts.indices {
            // A bad cell before it (with `missing` error) is only counted on: the error wins, as
            // in one pass, which reads on past a bad cell and stops at the error.
            if let error = parts[k].error { throw error }
        }
        let kept = parts.reduce(0) { $0 + $1.kept }, records = parts.reduce(0) { $0 + $1.records }
        if let firstBadCell = parts.lazy.compactMap(\.firstBadCell).first {
            let firstRowBad = parts.first?.firstRowBad ?? false
            // Suggest only what works: drop needs a row left, ffill a complete first row.
            let hint =
                kept == 0
                ? " (no row has a number in every used column, so `missing` drop or ffill would leave no data)"
                : " (`missing` drop would keep \(kept) of \(records) rows\(firstRowBad ? "" : "; ffill would repeat the previous value"))"
            throw DataError(firstBadCell + hint)
        }
        var out = [[Double]](repeating: [], count: columns.count)
        for c in out.indices {
            // The first stretch's column, which has room for the rest (`parse`), takes the others
            // in place, each freed as it is appended (`parts` is this function's alone: a copy of
            // it held the stretches' 100 MB of a 5M × 3 file beside the joined 120).
            swap(&out[c], &parts[0].out[c])
            out[c].reserveCapacity(kept)
            for k in parts.indices.dropFirst() {
                out[c].append(contentsOf: parts[k].out[c])
                parts[k].out[c] = []
            }
        }
        if out.first?.isEmpty ?? true {
            if let f = filter {
                var seen: [String] = [], other = Set<String>()
                for k in parts.indices {
                    for v in parts[k].seenFilterValues + parts[k].otherFilterValues.sorted() where !seen.contains(v) {
                        if seen.count < 8 { seen.append(v) } else if other.count <= 10_000 { other.insert(v) }
                    }
                }
                let more =
                    other.isEmpty
                    ? "" : other.count > 10_000 ? ", … and over 10000 more" : ", … and \(other.count) more"
                throw DataError(
                    "\(name): no rows with \(f.column)=\(f.value) (values seen: \(seen.joined(separator: ", "))\(more))"
                )
            }
            throw DataError("\(name): no data rows")
        }
        var table = Table(names: columns, columns: out)
        if layout.timeIndex != nil {
            var times: [Double] = []
            swap(&times, &parts[0].times)  // with room for the rest, as the columns
            for k in parts.indices.dropFirst() {
                times.append(contentsOf: parts[k].times)
                parts[k].times = []
            }
            table.times = times
        }
        if layout.keyIndex != nil {
            // Each stretch numbered the identities it met; renumbered in order of first appearance
            // (the first stretch's numbers are already so, and its keys take the rest in place).
            var keyValues: [String] = [], numbers: [String: Int32] = [:], keys: [Int32] = []
            swap(&keys, &parts[0].keys)
            for k in parts.indices {
                let map = parts[k].keyValues.map { id -> Int32 in
                    if let n = numbers[id] { return n }
                    let n = Int32(keyValues.count)
                    numbers[id] = n
                    keyValues.append(id)
                    return n
                }
                guard k > 0 else { continue }
                keys.append(contentsOf: parts[k].keys.lazy.map { map[Int($0)] })
                parts[k].keys = []
            }
            table.keys = keys
            table.keyValues = keyValues
        }
        return table
    }

    /// The columns whose first data row holds a number (a wide panel's `all`).
    public static func numericColumns(path: String) throws(DataError) -> [String] {
        let file = try mapFile(path)
        var lines = CSVLines(file.bytes)
        guard try lines.next(name: path) != nil else { throw DataError("\(path): file is empty") }
        let names = lines.fields.indices.map { lines.string($0).trimmingSpaces }
        guard try lines.next(name: path) != nil, lines.fieldCount == names.count else {
            throw DataError("\(path): no data rows")
        }
        return names.indices.filter {
            if case .value = NumberText.parse(lines.string(range: lines.trimmed($0))) { true } else { false }
        }.map { names[$0] }
    }

    /// The header's column names of a CSV file.
    public static func header(path: String) throws(DataError) -> [String] {
        // Mapped: only the pages of the first record are read, not the whole file.
        let file = try mapFile(path)
        var lines = CSVLines(file.bytes)
        guard try lines.next(name: path) != nil else { throw DataError("\(path): file is empty") }
        return lines.fields.indices.map { lines.string($0).trimmingSpaces }
    }
}

/// The CSV file at `path` mapped read-only (at most `CSVReader.maxFileSize` bytes).
func mapFile(_ path: String) throws(DataError) -> MappedFile {
    do { return try Files.map(path, limit: CSVReader.maxFileSize) } catch { throw DataError(error.message) }
}

/// A run of whole records: bytes of the buffer, and the line the first starts on.
struct Stretch: Sendable {
    var bytes: Range<Int>
    var firstLine: Int
    /// Its line ends, when counted (a cut file's): a bound on its records, to reserve room for.
    var lines: Int? = nil
    /// Whether it holds no quote and no CR (`measure` finds out): its records are then read in
    /// place, each ending at its LF.
    var plain = false
    /// The fewest bytes worth a stretch of their own.
    nonisolated(unsafe) static var minimumStretch = 8 << 20

    /// Records from `start` cut into about `parts` stretches at newlines, for a parallel
    /// parse; one stretch when the bytes are too few to be worth it (8 MB a stretch at least).
    /// `measure` joins them again when the bytes hold a quote (a quoted field may span lines).
    static func cut(_ buffer: UnsafeBufferPointer<UInt8>, from start: Int, firstLine: Int, parts: Int) -> [Stretch] {
        let whole = [Stretch(bytes: start..<buffer.count, firstLine: firstLine)]
        let size = buffer.count - start
        let count = min(parts, size / minimumStretch)
        guard count > 1, let base = buffer.baseAddress else { return whole }
        var cuts = [start]
        for k in 1..<count {
            var at = max(start + size * k / count, cuts[cuts.count - 1])
            guard let nl = memchr(base + at, 0x0A, buffer.count - at) else { break }
            at = UnsafePointer<UInt8>(nl.assumingMemoryBound(to: UInt8.self)) - base + 1
            if at < buffer.count { cuts.append(at) }
        }
        cuts.append(buffer.count)
        return (0..<(cuts.count - 1)).map { Stretch(bytes: cuts[$0]..<cuts[$0 + 1], firstLine: firstLine) }
    }

    /// The stretches with their line counts and first lines, counted on every core; with a
    /// mapped `file`, each stretch is also checked for UTF-8 in the same pass, 8 MB at a time
    /// (ending after a newline, so never inside a character), and those pages handed back.
    /// One stretch when the bytes hold a quote (a quoted field may span lines); nil when a
    /// byte is not UTF-8.
    ///
    /// (The check was a pass of its own on one core, and the count another that left the
    /// whole file resident until the parse reached it: 248 MB of a panel's load.)
    static func measure(_ stretches: [Stretch], in buffer: UnsafeBufferPointer<UInt8>, checking file: MappedFile?)
        -> [Stretch]?
    {
        // Each stretch's line count, whether it holds a quote and a CR; nil for one not UTF-8.
        var counts = [(lines: Int, quoted: Bool, cr: Bool)?](repeating: nil, count: stretches.count)
        nonisolated(unsafe) let bytes = buffer
        let ranges = stretches.map(\.bytes)
        counts.withUnsafeMutableBufferPointer { counts in
            nonisolated(unsafe) let counts = counts
            DispatchQueue.concurrentPerform(iterations: counts.count) { k in
                var lines = 0, quoted = false, cr = false, at = ranges[k].lowerBound
                while at < ranges[k].upperBound {
                    var end = min(ranges[k].upperBound, at + (8 << 20))
                    while end < ranges[k].upperBound && bytes[end - 1] != 0x0A { end += 1 }
                    let piece = UnsafeBufferPointer(rebasing: bytes[at..<end])
                    if file != nil, UTF8Scalar.firstInvalid(piece) != nil { return }
                    lines += lineCount(piece)
                    if !quoted, let p = piece.baseAddress { quoted = memchr(p, Int32(UInt8(ascii: "\"")), piece.count) != nil }
                    if !cr, let p = piece.baseAddress { cr = memchr(p, 0x0D, piece.count) != nil }
                    file?.release(at..<end)
                    at = end
                }
                counts[k] = (lines, quoted, cr)
            }
        }
        var measured: [Stretch] = []
        var line = stretches.first?.firstLine ?? 1
        for (stretch, count) in zip(stretches, counts) {
            guard let count else { return nil }
            // + a last line without an end.
            measured.append(
                Stretch(bytes: stretch.bytes, firstLine: line, lines: count.lines + 1, plain: !count.quoted && !count.cr))
            line += count.lines
        }
        if measured.count > 1, counts.contains(where: { $0?.quoted == true }), let first = measured.first,
            let last = measured.last
        {
            let lines = counts.reduce(0) { $0 + ($1?.lines ?? 0) }
            return [Stretch(bytes: first.bytes.lowerBound..<last.bytes.upperBound, firstLine: first.firstLine, lines: lines + 1)]
        }
        return measured
    }

    /// Line ends in `bytes`: LFs, and CRs not followed by an LF.
    static func lineCount(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        guard let base = bytes.baseAddress else { return 0 }
        var count = 0, i = 0
        while i < bytes.count, let p = memchr(base + i, 0x0A, bytes.count - i) {
            count += 1
            i = UnsafePointer<UInt8>(p.assumingMemoryBound(to: UInt8.self)) - base + 1
        }
        i = 0
        while i < bytes.count, let p = memchr(base + i, 0x0D, bytes.count - i) {
            let at = UnsafePointer<UInt8>(p.assumingMemoryBound(to: UInt8.self)) - base
            if at + 1 >= bytes.count || bytes[at + 1] != 0x0A { count += 1 }
            i = at + 1
        }
        return count
    }
}

/// Cores this process may run on.
func systemCores() -> Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

/// Reads the records of CSV bytes one at a time, honouring quotes, with 1-based line numbers.
///
/// A record's fields are ranges of its text (`withText`): of the bytes themselves when the
/// record holds no quote, or of `arena`, where a quoted record's fields are copied unquoted.
/// Both buffers of ranges are reused from record to record.
struct CSVLines {
    /// The bytes being read; the caller keeps them alive.
    private let bytes: UnsafeBufferPointer<UInt8>
    /// The caller's promise that the bytes hold no quote and no CR (`Stretch.plain`).
    private let plain: Bool
    private var i: Int
    /// Where the next record starts.
    var offset: Int { i }
    /// The line the next record starts on.
    private(set) var line = 1
    /// A quoted record's fields, unquoted, one after another.
    private var arena: [UInt8] = []
    /// Whether the current record's ranges are of `arena` (else of the bytes).
    private var inArena = false
    /// The first `fieldCount` are the current record's fields.
    private var ranges: [Range<Int>] = []
    /// Fields in the current record.
    private(set) var fieldCount = 0

    /// The records of `bytes`, the first on line `firstLine`; a file's start may hold a
    /// byte-order mark (`skipsBOM`), a stretch cut from its middle may not. `plain`: the
    /// bytes hold no quote and no CR, so every record ends at its LF and is read in place.
    init(_ bytes: UnsafeBufferPointer<UInt8>, firstLine: Int = 1, skipsBOM: Bool = true, plain: Bool = false) {
        self.bytes = bytes
        self.plain = plain
        line = firstLine
        i = skipsBOM && bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0  // UTF-8 byte-order mark
    }

    /// The current record's field ranges, in the text `withText` gives.
    var fields: ArraySlice<Range<Int>> { ranges[..<fieldCount] }

    /// The range of field `k` of the current record.
    @inline(__always) func field(_ k: Int) -> Range<Int> { ranges[k] }

    /// Calls `body` with the text the current record's ranges are of.
    @inline(__always) func withText<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        inArena ? arena.withUnsafeBufferPointer(body) : body(bytes)
    }

    /// Appends a field's range to the current record's.
    @inline(__always) private mutating func addField(_ range: Range<Int>) {
        if fieldCount < ranges.count { ranges[fieldCount] = range } else { ranges.append(range) }
        fieldCount += 1
    }

    /// The fields of bytes `from..<end`, which hold no quote: their ranges cut at commas.
    ///
    /// The ranges are written through one pointer: a record's `append`s and `removeAll`, each
    /// with its uniqueness check, were 12% of a 5M × 3 file's load (`perf record`).
    private mutating func cutFields(from: Int, to end: Int) {
        guard let base = bytes.baseAddress else { return fieldCount = 0 }
        while true {
            let n = ranges.withUnsafeMutableBufferPointer { r -> Int? in
                var n = 0, fieldStart = from
                for k in from..<end where base[k] == UInt8(ascii: ",") {
                    guard n < r.count else { return nil }
                    r[n] = fieldStart..<k
                    n += 1
                    fieldStart = k + 1
                }
                guard n < r.count else { return nil }
                r[n] = fieldStart..<end
                return n + 1
            }
            if let n { return fieldCount = n }
            // More fields than room (the first record, or a malformed one): room for twice as many.
            ranges = Array(repeating: 0..<0, count: max(8, 2 * ranges.count))
        }
    }

    /// Reads the next record; returns the line it starts on, or nil at the end.
    mutating func next(name: String) throws(DataError) -> Int? {
        guard i < bytes.count else { return nil }
        let start = line
        // No quote before the newline (in `plain` bytes, none anywhere: no need to look): the
        // record is read in place, cut at its commas. A byte at a time (below) spent most of a
        // 10M-row panel's load in `append`'s uniqueness checks.
        if let end = plain ? lineEnd() : plainRecordEnd() {
            var stop = end
            if stop > i && bytes[stop - 1] == 0x0D { stop -= 1 }  // CRLF
            inArena = false
            cutFields(from: i, to: stop)
            i = end < bytes.count ? end + 1 : end
            line += 1
            return start
        }
        arena.removeAll(keepingCapacity: true)
        fieldCount = 0
        inArena = true
        var fieldStart = 0
        var quoted = false
        while i < bytes.count {
            let c = bytes[i]
            i += 1
            if quoted {
                if c == UInt8(ascii: "\"") {
                    if i < bytes.count && bytes[i] == UInt8(ascii: "\"") {
                        arena.append(c)
                        i += 1
                    } else {
                        quoted = false
                    }
                } else {
                    if c == 0x0A { line += 1 }
                    arena.append(c)
                }
                continue
            }
            switch c {
            case UInt8(ascii: "\""): quoted = true
            case UInt8(ascii: ","):
                addField(fieldStart..<arena.count)
                fieldStart = arena.count
            case 0x0D:
                // CRLF ends a record at its LF; a CR alone (old Mac files) ends one here, as pandas reads it.
                if i < bytes.count && bytes[i] == 0x0A { continue }
                line += 1
                addField(fieldStart..<arena.count)
                return start
            case 0x0A:
                line += 1
                addField(fieldStart..<arena.count)
                return start
            default: arena.append(c)
            }
        }
        if quoted { throw DataError("\(name):\(start): unterminated quoted field") }
        addField(fieldStart..<arena.count)
        return start
    }

    /// Where the record at `i` ends (its newline, or the end of the bytes) when it holds no
    /// quote and no lone CR before it; nil otherwise (the byte-at-a-time reader handles it).
    private func plainRecordEnd() -> Int? {
        guard let base = bytes.baseAddress else { return nil }
        let newline = nextLF()
        let end = newline ?? bytes.count
        guard memchr(base + i, Int32(UInt8(ascii: "\"")), end - i) == nil else { return nil }
        // A CR alone ends a record of its own (old Mac files): only a CR right before the LF is plain.
        if let cr = memchr(base + i, 0x0D, end - i) {
            let at = UnsafePointer<UInt8>(cr.assumingMemoryBound(to: UInt8.self)) - base
            guard at == end - 1, newline != nil else { return nil }
        }
        return end
    }

    /// Where the record at `i` ends: its LF, or the end of the bytes.
    private func lineEnd() -> Int { nextLF() ?? bytes.count }

    /// The first LF at or after `i`, if any.
    private func nextLF() -> Int? {
        guard let base = bytes.baseAddress else { return nil }
        return memchr(base + i, 0x0A, bytes.count - i).map { UnsafePointer<UInt8>($0.assumingMemoryBound(to: UInt8.self)) - base }
    }

    /// Field `k` of the current record as a string.
    func string(_ k: Int) -> String { string(range: ranges[k]) }

    /// The bytes `range` of the current record as a string.
    func string(range: Range<Int>) -> String {
        withText { String(decoding: UnsafeBufferPointer(rebasing: $0[range]), as: UTF8.self) }
    }

    /// The range of field `k` without leading and trailing spaces and tabs.
    @inline(__always) func trimmed(_ k: Int) -> Range<Int> {
        withText { text in
            var (lower, upper) = (ranges[k].lowerBound, ranges[k].upperBound)
            while lower < upper && (text[lower] == 0x20 || text[lower] == 0x09) { lower += 1 }
            while upper > lower && (text[upper - 1] == 0x20 || text[upper - 1] == 0x09) { upper -= 1 }
            return lower..<upper
        }
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

extension CSVReader {
    /// The value of a field written as `[+-]digits[.digits]` with at most 15 digits, or nil
    /// for anything else (which then goes to Swift's own parser).
    ///
    /// Hand-written because it is most of a large file's load time otherwise (a String and
    /// `Double(String)` per field: 5M rows × 3 columns took ~0.5 s of a 1 s load). Exact: the
    /// digits are an integer below 10¹⁵ < 2⁵³ and 10^k (k ≤ 15) is exact in a Double, so the one
    /// division is correctly rounded, as Clinger's fast path shows.
    @inline(__always)
    static func plainDecimal(_ field: UnsafeBufferPointer<UInt8>) -> Double? {
        var i = 0, n = field.count
        guard n > 0 else { return nil }
        var negative = false
        if field[0] == UInt8(ascii: "-") || field[0] == UInt8(ascii: "+") {
            negative = field[0] == UInt8(ascii: "-")
            i = 1
        }
        var mantissa: UInt64 = 0, digits = 0, fraction = -1
        while i < n {
            let c = field[i]
            if c &- 48 < 10 {
                mantissa = mantissa &* 10 &+ UInt64(c &- 48)
                digits += 1
                if fraction >= 0 { fraction += 1 }
            } else if c == UInt8(ascii: "."), fraction < 0 {
                fraction = 0
            } else {
                return nil
            }
            i += 1
        }
        n = fraction < 0 ? 0 : fraction
        // Digits on both sides of a point, 15 at most in all.
        guard digits > 0, digits <= 15, fraction != 0, digits > n else { return nil }
        let value = Double(mantissa) / powersOfTen[n]
        return negative ? -value : value
    }

    private static let powersOfTen: [Double] = (0...15).map { k in (0..<k).reduce(1.0) { x, _ in x * 10 } }
}

/// A number written as text, read the way pandas' `read_csv` reads a numeric column: decimal
/// notation with an optional exponent. Swift's `Double(String)` also reads hexadecimal
/// (`0x10` is 16), which pandas keeps as text: refused here. One rule for CSV cells and for
/// numbers given on the command line (`predict --input`).
public enum NumberText: Equatable, Sendable {
    case value(Double)
    /// A finite number beyond float32's range (±3.4e38): it would become infinite in training.
    case outOfRange
    /// Not a finite decimal number (text, empty, hexadecimal, nan, inf).
    case notANumber

    public static func parse(_ raw: String) -> NumberText {
        guard !raw.utf8.contains(where: { $0 == UInt8(ascii: "x") || $0 == UInt8(ascii: "X") }),
            let v = Double(raw), v.isFinite
        else { return .notANumber }
        return abs(v) <= Double(Float.greatestFiniteMagnitude) ? .value(v) : .outOfRange
    }
}
