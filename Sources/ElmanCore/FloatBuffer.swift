/// A fixed-size, 64-byte-aligned, zero-initialised block of `Float`s owned by one object.
///
/// The model keeps all its parameters in one `FloatBuffer` and all its gradients in
/// another; every tensor is a view (offset and shape) into them. Kernels take raw
/// pointers from here, so nothing in a training step allocates.
public final class FloatBuffer {
    /// Number of `Float` elements.
    public let count: Int
    /// Address of element 0; valid for the lifetime of the buffer.
    public let baseAddress: UnsafeMutablePointer<Float>

    /// Allocates `count` zeros.
    public init(count: Int) {
        precondition(count >= 0, "FloatBuffer count must not be negative")
        self.count = count
        let capacity = max(count, 1)
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: capacity * MemoryLayout<Float>.stride, alignment: 64)
        baseAddress = raw.initializeMemory(as: Float.self, repeating: 0, count: capacity)
    }

    /// Allocates a copy of `values`.
    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { source in
            if let s = source.baseAddress { baseAddress.update(from: s, count: values.count) }
        }
    }

    deinit { baseAddress.deallocate() }

    /// The whole buffer as a mutable buffer pointer.
    public var buffer: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: baseAddress, count: count)
    }

    /// Element `index`.
    public subscript(index: Int) -> Float {
        get { baseAddress[index] }
        set { baseAddress[index] = newValue }
    }

    /// A copy of the contents as an array.
    public var array: [Float] { Array(buffer) }

    /// Copies the first `count` elements of `other` (same layout) over this buffer's.
    public func copy(from other: FloatBuffer, count n: Int) {
        precondition(n <= count && n <= other.count, "FloatBuffer.copy: \(n) elements")
        baseAddress.update(from: other.baseAddress, count: n)
    }

    /// Adds the first `count` elements of `other` into this buffer's, element by element.
    public func add(_ other: FloatBuffer, count n: Int) {
        precondition(n <= count && n <= other.count, "FloatBuffer.add: \(n) elements")
        let a = baseAddress, b = other.baseAddress
        for i in 0..<n { a[i] += b[i] }
    }

    /// Overwrites the contents with `values`, which must have `count` elements.
    public func assign(_ values: [Float]) {
        precondition(values.count == count, "FloatBuffer.assign: \(values.count) values for \(count) slots")
        values.withUnsafeBufferPointer { source in
            if let s = source.baseAddress { baseAddress.update(from: s, count: count) }
        }
    }
}
