/// Element types of the safetensors format that elman-dist reads.
public enum DType: String, Sendable, CaseIterable {
    case f32 = "F32", f64 = "F64", f16 = "F16", bf16 = "BF16"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u8 = "U8", bool = "BOOL"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f64, .i64: 8
        case .f32, .i32: 4
        case .f16, .bf16, .i16: 2
        case .i8, .u8, .bool: 1
        }
    }
}

/// One tensor's entry in a safetensors header.
public struct TensorInfo: Equatable, Sendable {
    public var name: String
    public var dtype: DType
    public var shape: [Int]
    /// Byte range inside the data buffer (after the header).
    public var dataOffsets: Range<Int>
    /// Number of elements.
    public var elementCount: Int { shape.reduce(1, *) }
}

/// A safetensors file that fails to parse, with what is wrong.
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A parsed safetensors file: an 8-byte little-endian header length N, N bytes of JSON
/// header, then the tensor bytes.
///
/// Parsing checks everything the format promises before any tensor is read: the header
/// length fits the file, the header is a JSON object, every dtype is known, every shape's
/// byte size equals its offsets, and the tensors tile the data buffer exactly.
public struct SafeTensorsFile: Sendable {
    /// Largest header accepted (the reference implementation's limit).
    public static let maxHeaderSize = 100_000_000

    /// String metadata from `__metadata__`.
    public let metadata: [String: String]
    /// Tensors in order of their data offsets.
    public let tensors: [TensorInfo]
    private let bytes: [UInt8]
    private let dataStart: Int

    /// Parses a whole file held in memory.
    public init(bytes: [UInt8]) throws(SafeTensorsError) {
        guard bytes.count >= 8 else {
            throw SafeTensorsError(
                bytes.isEmpty ? "file is empty" : "file is \(bytes.count) bytes, too short for a safetensors header")
        }
        var n: UInt64 = 0
        for k in 0..<8 { n |= UInt64(bytes[k]) << (8 * UInt64(k)) }
        guard n <= UInt64(Self.maxHeaderSize) else {
            throw SafeTensorsError(
                "header length \(n) is larger than the \(Self.maxHeaderSize)-byte limit (not a safetensors file?)")
        }
        let headerLength = Int(n)
        guard headerLength <= bytes.count - 8 else {
            throw SafeTensorsError(
                "header length \(headerLength) runs past the end of the \(bytes.count)-byte file (truncated?)")
        }
        guard headerLength >= 2, bytes[8] == UInt8(ascii: "{") else {
            throw SafeTensorsError("header does not start with '{' (not a safetensors file?)")
        }
        let header: JSONValue
        do { header = try JSONValue.parse(bytes[8..<8 + headerLength]) } catch {
            throw SafeTensorsError("header is not valid JSON: \(error)")
        }
        guard let members = header.objectMembers else { throw SafeTensorsError("header is not a JSON object") }

        let dataStart = 8 + headerLength
        let dataLength = bytes.count - dataStart
        var metadata: [String: String] = [:]
        var tensors: [TensorInfo] = []
        var names = Set<String>()
        for (name, value) in members {
            guard names.insert(name).inserted else {
                throw SafeTensorsError("tensor '\(name)' appears twice in the header")
            }
            if name == "__metadata__" {
                guard let entries = value.objectMembers else { throw SafeTensorsError("__metadata__ is not an object") }
                for (k, v) in entries {
                    guard let s = v.stringValue else { throw SafeTensorsError("metadata '\(k)' is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let fields = value.objectMembers else { throw SafeTensorsError("entry '\(name)' is not an object") }
            let f = Dictionary(fields, uniquingKeysWith: { a, _ in a })
            guard let dtypeName = f["dtype"]?.stringValue else {
                throw SafeTensorsError("tensor '\(name)' has no dtype")
            }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw SafeTensorsError("tensor '\(name)' has unknown dtype '\(dtypeName)'")
            }
            guard let shapeValues = f["shape"]?.arrayValue else {
                throw SafeTensorsError("tensor '\(name)' has no shape")
            }
            var shape: [Int] = []
            var elements = 1
            for s in shapeValues {
                guard let d = s.exactIndex else { throw SafeTensorsError("tensor '\(name)' has an invalid dimension") }
                let (e, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow, e <= dataLength else {
                    throw SafeTensorsError(
                        "tensor '\(name)' shape \(shapeValues.compactMap(\.exactIndex)) is larger than the file")
                }
                elements = e
                shape.append(d)
            }
            guard let offsets = f["data_offsets"]?.arrayValue, offsets.count == 2,
                let begin = offsets[0].exactIndex, let end = offsets[1].exactIndex, begin <= end
            else { throw SafeTensorsError("tensor '\(name)' has invalid data_offsets") }
            guard end <= dataLength else {
                throw SafeTensorsError(
                    "tensor '\(name)' data ends at byte \(end), past the \(dataLength)-byte buffer (truncated?)")
            }
            guard end - begin == elements * dtype.size else {
                throw SafeTensorsError(
                    "tensor '\(name)' holds \(end - begin) bytes but \(dtype.rawValue) \(shape) needs \(elements * dtype.size)"
                )
            }
            tensors.append(TensorInfo(name: name, dtype: dtype, shape: shape, dataOffsets: begin..<end))
        }
        tensors.sort {
            ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound) < (
                $1.dataOffsets.lowerBound, $1.dataOffsets.upperBound
            )
        }
        var cursor = 0
        for t in tensors {
            guard t.dataOffsets.lowerBound == cursor else {
                throw SafeTensorsError(
                    "tensor '\(t.name)' data \(t.dataOffsets.lowerBound < cursor ? "overlaps another tensor" : "leaves a gap") at byte \(t.dataOffsets.lowerBound)"
                )
            }
            cursor = t.dataOffsets.upperBound
        }
        guard cursor == dataLength else {
            throw SafeTensorsError("data buffer has \(dataLength - cursor) bytes no tensor uses")
        }
        self.metadata = metadata
        self.tensors = tensors
        self.bytes = bytes
        self.dataStart = dataStart
    }

    /// The entry for `name`, or nil.
    public func info(_ name: String) -> TensorInfo? { tensors.first { $0.name == name } }

    /// The raw little-endian bytes of `name`.
    public func rawBytes(_ name: String) throws(SafeTensorsError) -> ArraySlice<UInt8> {
        guard let t = info(name) else { throw SafeTensorsError("no tensor named '\(name)'") }
        return bytes[dataStart + t.dataOffsets.lowerBound..<dataStart + t.dataOffsets.upperBound]
    }

    /// The values of `name` converted to Float (from F32, F64, I64, I32, I16, I8, U8 or BOOL).
    public func floats(_ name: String) throws(SafeTensorsError) -> [Float] {
        guard let t = info(name) else { throw SafeTensorsError("no tensor named '\(name)'") }
        let raw = try rawBytes(name)
        let n = t.elementCount
        var out = [Float](repeating: 0, count: n)
        raw.withUnsafeBytes { src in
            for i in 0..<n {
                switch t.dtype {
                case .f32:
                    out[i] = Float(
                        bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                case .f64:
                    out[i] = Float(
                        Double(
                            bitPattern: UInt64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))
                    )
                case .i64: out[i] = Float(Int64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)))
                case .i32: out[i] = Float(Int32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
                case .i16: out[i] = Float(Int16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)))
                case .i8: out[i] = Float(Int8(bitPattern: src[i]))
                case .u8, .bool: out[i] = Float(src[i])
                case .f16:
                    out[i] = Float(
                        Float16(
                            bitPattern: UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                    )
                case .bf16:
                    out[i] = Float(
                        bitPattern: UInt32(
                            UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16)
                }
            }
        }
        return out
    }

    /// The values of `name` as Float, checking the shape is `shape`.
    public func floats(_ name: String, shape: [Int]) throws(SafeTensorsError) -> [Float] {
        guard let t = info(name) else { throw SafeTensorsError("no tensor named '\(name)'") }
        guard t.shape == shape else {
            throw SafeTensorsError("tensor '\(name)' has shape \(t.shape), expected \(shape)")
        }
        return try floats(name)
    }
}

/// Builds a safetensors file: tensors in insertion order plus string metadata.
public struct SafeTensorsWriter {
    private var entries: [(name: String, dtype: DType, shape: [Int], bytes: [UInt8])] = []
    /// String metadata written under `__metadata__`.
    public var metadata: [String: String] = [:]

    public init() {}

    /// Adds an F32 tensor; `values.count` must equal the product of `shape`.
    public mutating func add(_ name: String, shape: [Int], values: [Float]) {
        precondition(
            shape.reduce(1, *) == values.count,
            "SafeTensorsWriter: \(name) has \(values.count) values for shape \(shape)")
        var bytes: [UInt8] = []
        bytes.reserveCapacity(4 * values.count)
        for v in values {
            let bits = v.bitPattern
            for k in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: bits >> (8 * UInt32(k)))) }
        }
        entries.append((name, .f32, shape, bytes))
    }

    /// Adds a tensor of any dtype from its little-endian bytes, as they are stored.
    public mutating func add(_ name: String, dtype: DType, shape: [Int], bytes: [UInt8]) {
        precondition(
            shape.reduce(dtype.size, *) == bytes.count,
            "SafeTensorsWriter: \(name) has \(bytes.count) bytes for \(dtype.rawValue) \(shape)")
        entries.append((name, dtype, shape, bytes))
    }

    /// The complete file. The header is padded with spaces to a multiple of 8 bytes so the
    /// data buffer is aligned, as the reference implementation does.
    public func serialized() -> [UInt8] {
        var parts: [String] = []
        if !metadata.isEmpty {
            let kv = metadata.sorted { $0.key < $1.key }.map {
                "\(JSONValue.quote($0.key)):\(JSONValue.quote($0.value))"
            }
            parts.append("\"__metadata__\":{\(kv.joined(separator: ","))}")
        }
        var offset = 0
        for e in entries {
            let shape = e.shape.map(String.init).joined(separator: ",")
            parts.append(
                "\(JSONValue.quote(e.name)):{\"dtype\":\"\(e.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + e.bytes.count)]}"
            )
            offset += e.bytes.count
        }
        var h = Array(("{" + parts.joined(separator: ",") + "}").utf8)
        while (8 + h.count) % 8 != 0 { h.append(0x20) }
        var out: [UInt8] = []
        out.reserveCapacity(8 + h.count + offset)
        let n = UInt64(h.count)
        for k in 0..<8 { out.append(UInt8(truncatingIfNeeded: n >> (8 * UInt64(k)))) }
        out += h
        for e in entries { out += e.bytes }
        return out
    }
}
