/// Numeric columns of equal length, in row order: what a CSV file or a formula yields.
public struct Table: Equatable, Sendable {
    /// Column names, in the order requested.
    public var names: [String]
    /// columns[c][r]: value of column c at row r.
    public var columns: [[Double]]
    /// For a long-format panel: the series of each row, an index into `keyValues`.
    public var keys: [Int32]?
    /// The series identities, in order of first appearance.
    public var keyValues: [String] = []
    /// With a time column: each row's time, in seconds since 1970 (`Timestamp`).
    public var times: [Double]?

    public init(names: [String], columns: [[Double]]) {
        precondition(names.count == columns.count, "Table: one name per column")
        self.names = names
        self.columns = columns
    }

    /// The column called `name`.
    public func column(_ name: String) throws(DataError) -> [Double] {
        guard let i = names.firstIndex(of: name) else {
            throw DataError("no column '\(name)' (columns: \(names.joined(separator: ", ")))")
        }
        return columns[i]
    }
}
