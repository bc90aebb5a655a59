import ElmanCore
import ElmanFiles
import Foundation

/// A training checkpoint: model weights, optimiser state and every setting needed to resume.
///
/// On disk it is a safetensors file. The model tensors carry PyTorch's names and shapes
/// (`rnn.weight_ih_l0`, …, `fc.weight`, `fc.bias`), so `load_state_dict` accepts them after
/// dropping the `optimizer.` entries; optimiser buffers sit beside them as
/// `optimizer.<slot>.<parameter name>`. `__metadata__` holds string entries, each JSON:
///
///     format            "elman-dist-checkpoint"
///     format_version    1
///     model             ModelConfig
///     optimizer         OptimizerConfig plus "step"
///     <section>         further JSON the training layer owns (training, data, progress, ...)
///     checksums         {"tensor name": "crc32c hex", ...}
///     metadata_crc32c   CRC-32C of every other metadata entry, so a flipped bit anywhere is caught
public struct Checkpoint: Equatable {
    /// The `format` metadata value that marks an elman-dist checkpoint.
    public static let formatName = "elman-dist-checkpoint"
    /// The format version this build writes.
    public static let currentVersion = 2
    /// Prefix of optimiser tensors.
    public static let optimizerPrefix = "optimizer."

    public var model: ModelConfig
    /// Flat parameters in `ParameterLayout(model)` order.
    public var parameters: [Float]
    public var optimizer: OptimizerConfig
    public var optimizerState: OptimizerState
    /// Further metadata entries, each a JSON document, owned by the layer above.
    public var sections: [String: String]
    /// Run state that is neither weights nor optimiser buffers (a stateful run's carried hidden
    /// state), stored as tensors `state.<name>`.
    public var state: [String: StateTensor] = [:]
    /// Prefix of run-state tensors.
    public static let statePrefix = "state."
    /// Tensors of the data pipeline that are too many for JSON metadata (a panel's series
    /// identities and scalings), any dtype, stored as `data.<name>`.
    public var dataTensors: [String: RawTensor] = [:]
    /// Prefix of data tensors.
    public static let dataPrefix = "data."

    public init(
        model: ModelConfig, parameters: [Float], optimizer: OptimizerConfig,
        optimizerState: OptimizerState, sections: [String: String] = [:]
    ) {
        self.model = model
        self.parameters = parameters
        self.optimizer = optimizer
        self.optimizerState = optimizerState
        self.sections = sections
    }

    /// Decodes section `key` as `T`.
    public func section<T: Decodable>(_ key: String, as: T.Type) throws(CheckpointError) -> T {
        guard let json = sections[key] else { throw CheckpointError("checkpoint has no '\(key)' metadata") }
        do { return try JSONDecoder().decode(T.self, from: Data(json.utf8)) } catch {
            throw CheckpointError("checkpoint metadata '\(key)' is invalid: \(error)")
        }
    }

    /// Encodes `value` as section `key`.
    public mutating func setSection<T: Encodable>(_ key: String, _ value: T) throws(CheckpointError) {
        sections[key] = try Self.json(value)
    }

    static let reservedKeys: Set<String> = [
        "format", "format_version", "model", "optimizer", "checksums", "metadata_crc32c",
    ]

    // MARK: Writing

    /// The checkpoint as safetensors bytes.
    public func serialized() throws(CheckpointError) -> [UInt8] {
        let layout = ParameterLayout(model)
        var writer = SafeTensorsWriter()
        var checksums: [String: String] = [:]
        func add(_ name: String, _ shape: [Int], _ values: ArraySlice<Float>) {
            let v = Array(values)
            writer.add(name, shape: shape, values: v)
            checksums[name] = v.withUnsafeBytes { CRC32C.hex($0) }
        }
        for slot in layout.slots { add(slot.name, slot.shape, parameters[slot.range]) }
        for (name, tensor) in state.sorted(by: { $0.key < $1.key }) {
            add(Self.statePrefix + name, tensor.shape, tensor.values[...])
        }
        for (name, tensor) in dataTensors.sorted(by: { $0.key < $1.key }) {
            writer.add(Self.dataPrefix + name, dtype: tensor.dtype, shape: tensor.shape, bytes: tensor.bytes)
            checksums[Self.dataPrefix + name] = CRC32C.hex(tensor.bytes)
        }
        for (slotName, values) in optimizerState.slots.sorted(by: { $0.key < $1.key }) {
            for slot in layout.slots {
                add(Self.optimizerPrefix + slotName + "." + slot.name, slot.shape, values[slot.range])
            }
        }
        var meta = sections
        meta["format"] = Self.formatName
        meta["format_version"] = String(Self.currentVersion)
        meta["model"] = try Self.json(model)
        meta["optimizer"] = try Self.json(OptimizerRecord(config: optimizer, step: optimizerState.step))
        meta["checksums"] = try Self.json(checksums)
        meta["metadata_crc32c"] = Self.metadataChecksum(meta)
        writer.metadata = meta
        return writer.serialized()
    }

    struct OptimizerRecord: Codable {
        var config: OptimizerConfig
        var step: Int
    }

    /// `v` as JSON with sorted keys. A value JSON cannot hold (a NaN in a record) is an error:
    /// it would otherwise write a checkpoint that cannot be loaded.
    static func json<T: Encodable>(_ v: T) throws(CheckpointError) -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        do { return String(decoding: try e.encode(v), as: UTF8.self) } catch {
            throw CheckpointError("cannot record \(T.self) in the checkpoint: \(error)")
        }
    }

    static func metadataChecksum(_ meta: [String: String]) -> String {
        var text = ""
        for (k, v) in meta.sorted(by: { $0.key < $1.key }) where k != "metadata_crc32c" { text += k + "=" + v + "\n" }
        return CRC32C.hex(Array(text.utf8))
    }

    // MARK: Reading

    /// Parses and verifies a checkpoint: format, version, checksums, shapes.
    public init(bytes: [UInt8]) throws(CheckpointError) {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(bytes: bytes) } catch {
            throw CheckpointError("not a valid safetensors file: \(error)")
        }
        try self.init(file: file)
    }

    /// Verifies a parsed safetensors file as a checkpoint.
    public init(file: SafeTensorsFile) throws(CheckpointError) {
        let meta = file.metadata
        guard meta["format"] == Self.formatName else {
            throw CheckpointError(
                "not an elman-dist checkpoint (no format metadata; use `init` for plain model weights)")
        }
        guard let versionText = meta["format_version"], let version = Int(versionText), version >= 1 else {
            throw CheckpointError("checkpoint has an invalid format_version")
        }
        guard version <= Self.currentVersion else {
            throw CheckpointError(
                "checkpoint format version \(version) is newer than this elman-dist reads (up to \(Self.currentVersion)); upgrade elman-dist"
            )
        }
        guard meta["metadata_crc32c"] == Self.metadataChecksum(meta) else {
            throw CheckpointError("checkpoint metadata checksum does not match (file corrupted)")
        }
        var migrated = meta
        for step in Self.migrations where step.from >= version { migrated = step.apply(migrated) }

        func decode<T: Decodable>(_ key: String, _ type: T.Type) throws(CheckpointError) -> T {
            guard let s = migrated[key] else { throw CheckpointError("checkpoint has no '\(key)' metadata") }
            do { return try JSONDecoder().decode(T.self, from: Data(s.utf8)) } catch {
                throw CheckpointError("checkpoint metadata '\(key)' is invalid")
            }
        }
        let model = try decode("model", ModelConfig.self)
        do { try model.validate() } catch { throw CheckpointError("checkpoint model is invalid: \(error)") }
        let record = try decode("optimizer", OptimizerRecord.self)
        let checksums = try decode("checksums", [String: String].self)

        func verified(_ name: String, shape expected: [Int]?) throws(CheckpointError) -> [Float] {
            guard let info = file.info(name) else { throw CheckpointError("checkpoint has no tensor '\(name)'") }
            let shape = expected ?? info.shape
            guard info.dtype == .f32 else {
                throw CheckpointError("tensor '\(name)' is \(info.dtype.rawValue), expected F32")
            }
            guard info.shape == shape else {
                throw CheckpointError("tensor '\(name)' has shape \(info.shape), the model needs \(shape)")
            }
            let raw: ArraySlice<UInt8>
            do { raw = try file.rawBytes(name) } catch { throw CheckpointError(error.message) }
            guard checksums[name] == CRC32C.hex(raw) else {
                throw CheckpointError("tensor '\(name)' fails its checksum (file corrupted)")
            }
            do { return try file.floats(name) } catch { throw CheckpointError(error.message) }
        }
        let layout = ParameterLayout(model)
        // Every tensor the model needs is there with its shape before anything is allocated:
        // a small file claiming a huge model is refused by its shapes, not by running out of memory.
        let names =
            layout.slots.map { (name: $0.name, shape: $0.shape) }
            + record.config.slotNames.flatMap { slot in
                layout.slots.map { (Self.optimizerPrefix + slot + "." + $0.name, $0.shape) }
            }
        for (name, shape) in names {
            guard let info = file.info(name) else { throw CheckpointError("checkpoint has no tensor '\(name)'") }
            guard info.shape == shape else {
                throw CheckpointError("tensor '\(name)' has shape \(info.shape), the model needs \(shape)")
            }
        }
        var parameters = [Float](repeating: 0, count: layout.count)
        for slot in layout.slots {
            parameters.replaceSubrange(slot.range, with: try verified(slot.name, shape: slot.shape))
        }
        var slots: [String: [Float]] = [:]
        for slotName in record.config.slotNames {
            var values = [Float](repeating: 0, count: layout.count)
            for slot in layout.slots {
                values.replaceSubrange(
                    slot.range, with: try verified(Self.optimizerPrefix + slotName + "." + slot.name, shape: slot.shape)
                )
            }
            slots[slotName] = values
        }
        for t in file.tensors where checksums[t.name] == nil {
            throw CheckpointError("tensor '\(t.name)' has no checksum")
        }
        for t in file.tensors where t.name.hasPrefix(Self.statePrefix) {
            state[String(t.name.dropFirst(Self.statePrefix.count))] = StateTensor(
                shape: t.shape, values: try verified(t.name, shape: nil))
        }
        for t in file.tensors where t.name.hasPrefix(Self.dataPrefix) {
            let raw: ArraySlice<UInt8>
            do { raw = try file.rawBytes(t.name) } catch { throw CheckpointError(error.message) }
            guard checksums[t.name] == CRC32C.hex(raw) else {
                throw CheckpointError("tensor '\(t.name)' fails its checksum (file corrupted)")
            }
            dataTensors[String(t.name.dropFirst(Self.dataPrefix.count))] = RawTensor(
                dtype: t.dtype, shape: t.shape, bytes: Array(raw))
        }
        self.model = model
        self.parameters = parameters
        optimizer = record.config
        optimizerState = OptimizerState(step: record.step, slots: slots)
        sections = migrated.filter { !Self.reservedKeys.contains($0.key) }
    }

    /// Reads and verifies the checkpoint at `path`.
    public static func load(path: String) throws(CheckpointError) -> Checkpoint {
        try Checkpoint(bytes: try readBytes(path))
    }

    /// A metadata rewrite from one format version to the next.
    struct Migration {
        /// Applies to files of this version and older.
        var from: Int
        var apply: @Sendable ([String: String]) -> [String: String]
    }

    /// Known migrations, oldest first; `Tests/Fixtures/checkpoints/v1.safetensors` keeps them honest.
    ///
    /// Version 2 added stateful training: its `training` section has a `stateful` flag, which a
    /// version-1 run did not know and never set.
    static let migrations: [Migration] = [
        Migration(from: 1) { meta in
            var meta = meta
            // Member order does not matter in JSON: the new member goes first, the rest is untouched.
            if let text = meta["training"], text.hasPrefix("{\""), !text.contains("\"stateful\"") {
                meta["training"] = "{\"stateful\":false," + text.dropFirst()
            }
            return meta
        }
    ]
}

/// A tensor of any dtype as stored: little-endian bytes.
public struct RawTensor: Equatable, Sendable {
    public var dtype: DType
    public var shape: [Int]
    public var bytes: [UInt8]

    public init(dtype: DType, shape: [Int], bytes: [UInt8]) {
        precondition(shape.reduce(dtype.size, *) == bytes.count, "RawTensor: bytes do not fit the shape")
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    /// F64 values.
    public init(doubles: [Double], shape: [Int]) {
        var bytes = [UInt8]()
        bytes.reserveCapacity(8 * doubles.count)
        for v in doubles { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        self.init(dtype: .f64, shape: shape, bytes: bytes)
    }

    /// I64 values.
    public init(integers: [Int], shape: [Int]) {
        var bytes = [UInt8]()
        bytes.reserveCapacity(8 * integers.count)
        for v in integers { withUnsafeBytes(of: Int64(v).littleEndian) { bytes.append(contentsOf: $0) } }
        self.init(dtype: .i64, shape: shape, bytes: bytes)
    }

    /// The values of an F64 tensor, nil for another dtype.
    public var doubles: [Double]? {
        guard dtype == .f64 else { return nil }
        return stride(from: 0, to: bytes.count, by: 8).map { i in
            Double(bitPattern: (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[i + $1]) << (8 * UInt64($1)) })
        }
    }

    /// The values of an I64 tensor, nil for another dtype.
    public var integers: [Int]? {
        guard dtype == .i64 else { return nil }
        return stride(from: 0, to: bytes.count, by: 8).map { i in
            Int(Int64(bitPattern: (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[i + $1]) << (8 * UInt64($1)) }))
        }
    }
}

/// A tensor of run state, as stored.
public struct StateTensor: Equatable, Sendable {
    public var shape: [Int]
    public var values: [Float]
    public init(shape: [Int], values: [Float]) {
        self.shape = shape
        self.values = values
    }
}

/// Model tensors from any safetensors file with PyTorch's names (to start a run from them).
public func loadModelTensors(path: String, model: ModelConfig, strict: Bool = true) throws(CheckpointError) -> [Float] {
    let file: SafeTensorsFile
    do { file = try SafeTensorsFile(bytes: try readBytes(path)) } catch let e as CheckpointError { throw e } catch {
        throw CheckpointError("\(path): not a valid safetensors file: \(error)")
    }
    let layout = ParameterLayout(model)
    var parameters = [Float](repeating: 0, count: layout.count)
    // Strict, like PyTorch's load_state_dict: every model tensor once, and no tensor left over
    // (a 2-layer file must not start a 1-layer model from half of itself). A checkpoint's own
    // optimiser and carried-state tensors are not model tensors.
    var unused = Set(
        file.tensors.map(\.name).filter { !$0.hasPrefix("optimizer.") && !$0.hasPrefix(Checkpoint.statePrefix) })
    for slot in layout.slots {
        // Accept both bare names and PyTorch module prefixes such as "model.rnn.weight_ih_l0".
        let candidates = file.info(slot.name).map { [$0] } ?? file.tensors.filter { $0.name.hasSuffix("." + slot.name) }
        guard let info = candidates.first else { throw CheckpointError("\(path): no tensor '\(slot.name)'") }
        guard candidates.count == 1 else {
            throw CheckpointError(
                "\(path): tensors \(candidates.map { "'\($0.name)'" }.joined(separator: " and ")) both end in '\(slot.name)'")
        }
        unused.remove(info.name)
        guard info.shape == slot.shape else {
            throw CheckpointError(
                "\(path): tensor '\(info.name)' has shape \(info.shape), the model needs \(slot.shape)")
        }
        do { parameters.replaceSubrange(slot.range, with: try file.floats(info.name)) } catch {
            throw CheckpointError("\(path): \(error)")
        }
    }
    guard unused.isEmpty || !strict else {
        let names = unused.sorted()
        throw CheckpointError(
            "\(path): \(names.count) tensor(s) the model does not have (\(names.prefix(4).joined(separator: ", "))\(names.count > 4 ? ", …" : "")): the file holds another model than --hidden/--layers/--features describe"
        )
    }
    guard parameters.allSatisfy(\.isFinite) else {
        throw CheckpointError("\(path): model tensors contain NaN or infinity")
    }
    return parameters
}

/// Reads a whole checkpoint file (at most 16 GiB: larger is not a checkpoint this tool wrote).
func readBytes(_ path: String) throws(CheckpointError) -> [UInt8] {
    do { return try Files.read(path, limit: 1 << 34) } catch { throw CheckpointError(error.message) }
}
