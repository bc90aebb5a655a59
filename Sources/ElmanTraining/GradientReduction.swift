import ElmanCore
import ElmanData
import ElmanDistributed
import ElmanRun

/// The exact sum, over every rank and replica, of one step's micro-batch gradients, loss sums
/// and term counts: the same bits whichever rank or thread computed which micro-batch.
///
///     begin(cut, stop:)                             the step's micro-batches (the same on all ranks)
///     on each replica, for each micro-batch j it takes:
///         startMicroBatch(replica:)                 keep the previous micro-batch's gradient, zero
///         forward; record(j, scored)                its loss sum and term count
///         backward(replica:, last:)                 its gradient, in the replica's network
///     finish()                                      the replicas' first network holds Σ gradients
///
/// Every micro-batch has a fixed shape, so its float32 gradient is the same bits wherever it
/// is computed. `finish` then sums them so that the order cannot matter:
///
///     1. max all-reduce: each tensor's largest magnitude over every micro-batch, and the
///        micro-batches' loss sums and counts (each slot filled by the rank that computed it)
///     2. each micro-batch's gradient put on its tensor's `FixedPointGrid` (integers in
///        doubles) and added, on the replicas and then by a sum all-reduce: exact, so associative
///     3. the exact sum rounded once to float32
///
/// Overlapped (several ranks and layers, one replica a rank): 1 and 2 run for each part of the
/// gradient (the head, then the layers top down) as soon as the rank's last micro-batch's
/// backward finishes it, and move along between the steps of the recurrence below. Maxima and
/// sums of parts are the same numbers as of the whole, so overlap changes no bit.
final class GradientReduction {
    private let comm: Communicator
    private let replicas: Replicas
    private let layout: ParameterLayout
    /// Whether to overlap when the run allows it (`bench --no-overlap` turns it off).
    var overlaps = true

    /// Each part's tensors, in `layout.finalOrder` (the head first).
    private let parts: [[TensorSlot]]
    /// Every tensor, in part order: the maxima buffer holds one slot for each, in this order.
    private let slots: [TensorSlot]
    /// Where part p's tensors start in `slots`.
    private let firstSlot: [Int]

    // Per replica: the gradients of its micro-batches this step, all but the one still in its
    // network ((kept) · P floats), and whether its network holds one.
    private var kept: [UnsafeMutableBufferPointer<Float>]
    private var keptCount: [Int]
    private var live: [Bool]
    /// Per replica: its micro-batches' gradients on the grids, summed (P doubles); replica 0's
    /// then holds the rank's sum and is what the sum all-reduce reduces.
    private let sums: [UnsafeMutableBufferPointer<Double>]

    /// [tensor maxima in part order, with the scalars after the head's: loss sums (N), term
    /// counts (N), non-finite flags (N), stop flag].
    private var maxima: UnsafeMutableBufferPointer<Double>
    /// Per replica, the largest magnitude of each tensor (`slots` order) over its micro-batches.
    private let local: UnsafeMutableBufferPointer<Double>
    /// The grid of each tensor this step (`slots` order), set once its maximum is agreed.
    private var grids: [FixedPointGrid]

    // The step.
    private var cut = MicroBatches(examples: 0, size: 1)
    private var groups: [Range<Int>] = []
    /// The step's groups of parts, reduced together: each part alone (overlapping), or all at
    /// once; made once, as a step allocates nothing.
    private let partByPart: [Range<Int>], allParts: [Range<Int>]
    private var maximumStarted = 0
    private var sumStarted = 0
    private var maximumRequest: [Int] = []
    private var failure: CommunicatorError?

    init(comm: Communicator, replicas: Replicas) {
        self.comm = comm
        self.replicas = replicas
        let layout = replicas.steps[0].network.layout
        self.layout = layout
        let headSlots = [layout.headWeight, layout.headBias]
        let parts =
            [headSlots]
            + layout.layers.reversed().map { [$0.weightIH, $0.weightHH, $0.biasIH, $0.biasHH] }
        self.parts = parts
        slots = parts.flatMap { $0 }
        partByPart = parts.indices.map { $0..<$0 + 1 }
        allParts = [0..<parts.count]
        firstSlot = parts.indices.map { p in parts[..<p].reduce(0) { $0 + $1.count } }
        let R = replicas.count
        kept = Array(repeating: UnsafeMutableBufferPointer(start: nil, count: 0), count: R)
        keptCount = Array(repeating: 0, count: R)
        live = Array(repeating: false, count: R)
        sums = (0..<R).map { _ in
            let b = UnsafeMutableBufferPointer<Double>.allocate(capacity: max(1, layout.count))
            b.initialize(repeating: 0)
            return b
        }
        maxima = .allocate(capacity: 0)
        local = .allocate(capacity: R * slots.count)
        local.initialize(repeating: 0)
        grids = Array(repeating: FixedPointGrid(maximum: 0, addends: 1), count: slots.count)
    }

    deinit {
        for b in kept { b.deallocate() }
        for b in sums { b.deallocate() }
        maxima.deallocate()
        local.deallocate()
    }

    /// Whether the reduction of parts starts during backward.
    var overlapping: Bool { overlaps && comm.size > 1 && layout.layers.count > 1 && replicas.count == 1 }

    // MARK: The step's micro-batches

    /// Starts a step whose batch is cut as `cut` (on every rank alike).
    func begin(_ cut: MicroBatches, stop: Bool) {
        self.cut = cut
        let N = cut.count, needed = slots.count + 3 * N + 1
        if maxima.count < needed {
            maxima.deallocate()
            maxima = .allocate(capacity: needed)
        }
        maxima.initialize(repeating: 0)
        for j in 0..<N { maxima[lossSlot(j)] = -.infinity }
        maxima[stopSlot] = stop ? 1 : 0
        for r in 0..<replicas.count {
            keptCount[r] = 0
            live[r] = false
        }
        local.update(repeating: 0)
        groups = overlapping ? partByPart : allParts
        maximumStarted = 0
        sumStarted = 0
        maximumRequest.removeAll(keepingCapacity: true)
    }

    // The scalar slots, after the head's tensors.
    private var scalarBase: Int { parts[0].count }
    private func lossSlot(_ j: Int) -> Int { scalarBase + j }
    private func termSlot(_ j: Int) -> Int { scalarBase + cut.count + j }
    private func nonFiniteSlot(_ j: Int) -> Int { scalarBase + 2 * cut.count + j }
    private var stopSlot: Int { scalarBase + 3 * cut.count }
    /// Where tensor `s` (in `slots` order) has its maximum: the head's first, then the scalars.
    private func maximumSlot(_ s: Int) -> Int { s < scalarBase ? s : s + 3 * cut.count + 1 }
    /// The maxima of parts `g` (with the scalars when the head is among them).
    private func maximaRange(_ g: Range<Int>) -> Range<Int> {
        let first = g.lowerBound == 0 ? 0 : maximumSlot(firstSlot[g.lowerBound])
        let lastSlot = firstSlot[g.upperBound - 1] + parts[g.upperBound - 1].count - 1
        let end = maximumSlot(lastSlot) + 1
        return first..<(g.lowerBound == 0 ? max(end, stopSlot + 1) : end)
    }
    /// The parameters of parts `g`: the parts lie top down, so they end where the first begins.
    private func parameterRange(_ g: Range<Int>) -> Range<Int> {
        layout.finalOrder[g.upperBound - 1].lowerBound..<layout.finalOrder[g.lowerBound].upperBound
    }

    /// Before replica `r` computes another micro-batch: keeps the gradient its network holds
    /// (if any) and zeroes the network's. On the replica's thread.
    func startMicroBatch(replica r: Int) {
        let network = replicas.steps[r].network, P = layout.count
        if live[r] {
            if kept[r].count < (keptCount[r] + 1) * P {
                let grown = UnsafeMutableBufferPointer<Float>.allocate(capacity: (keptCount[r] + 1) * P)
                if let old = kept[r].baseAddress, let new = grown.baseAddress {
                    new.update(from: old, count: keptCount[r] * P)
                }
                kept[r].deallocate()
                kept[r] = grown
            }
            if let base = kept[r].baseAddress { (base + keptCount[r] * P).update(from: network.gradients.baseAddress, count: P) }
            keptCount[r] += 1
        }
        network.zeroGradients()
        live[r] = true
    }

    /// Records micro-batch `j`'s loss sum and term count (from any replica's thread: each j once).
    func record(_ j: Int, _ scored: LocalStep.Scored) {
        let finite = !scored.sum.isNaN
        maxima[lossSlot(j)] = finite ? scored.sum : .infinity
        maxima[termSlot(j)] = Double(scored.terms)
        maxima[nonFiniteSlot(j)] = finite ? 0 : 1
    }

    /// Backward through replica `r`'s micro-batch. After the replica's last, its tensors'
    /// largest magnitudes are noted; when overlapping, each part's as backward finishes it,
    /// and that part's reduction starts.
    func backward(replica r: Int, last: Bool) {
        let network = replicas.steps[r].network
        guard last else { return network.backward() }
        guard overlapping else {
            network.backward()
            return noteMaxima(replica: r, tensors: 0..<slots.count)
        }
        var part = 0
        network.backward(
            final: { _ in
                self.noteMaxima(replica: r, tensors: self.tensors(of: part..<part + 1))
                self.startMaximum(part)
                part += 1
            }, meanwhile: { self.startReadySums() })
    }

    /// The tensors (`slots` indices) of parts `g`.
    private func tensors(of g: Range<Int>) -> Range<Int> {
        firstSlot[g.lowerBound]..<(firstSlot[g.upperBound - 1] + parts[g.upperBound - 1].count)
    }

    /// Notes replica `r`'s largest magnitude of each of `tensors` over its micro-batches.
    private func noteMaxima(replica r: Int, tensors: Range<Int>) {
        let network = replicas.steps[r].network, P = layout.count
        for s in tensors {
            let slot = slots[s]
            var m: Float = 0
            if live[r] { m = FixedPointGrid.maximum(network.gradients.baseAddress + slot.offset, count: slot.count) }
            if let base = kept[r].baseAddress {
                for b in 0..<keptCount[r] {
                    m = max(m, FixedPointGrid.maximum(base + b * P + slot.offset, count: slot.count))
                }
            }
            local[r * slots.count + s] = Double(m)
        }
    }

    // MARK: The sum

    /// The step's loss sum (NaN if any micro-batch's was), term count and stop flag, once the
    /// replicas' first network holds the exact sum of every micro-batch's gradient.
    func finish() throws -> (lossSum: Double, terms: Double, stop: Bool) {
        while maximumStarted < groups.count { startMaximum(groups[maximumStarted].upperBound - 1) }
        while sumStarted < groups.count {
            if failure == nil {
                do { try comm.wait(for: maximumRequest[sumStarted]) } catch { failure = error }
            }
            startSum(sumStarted)
        }
        if let failure {
            self.failure = nil
            try? comm.finishReductions()
            throw failure
        }
        try comm.finishReductions()

        // 3. The exact sums, rounded once.
        let g = replicas.steps[0].network.gradients.baseAddress
        guard let sum = sums[0].baseAddress else { return (0, 0, false) }
        for (s, slot) in slots.enumerated() {
            grids[s].values(of: sum + slot.offset, into: g + slot.offset, count: slot.count)
        }
        var lossSum = 0.0, terms = 0.0, nonFinite = false
        for j in 0..<cut.count {
            lossSum += maxima[lossSlot(j)]
            terms += maxima[termSlot(j)]
            nonFinite = nonFinite || maxima[nonFiniteSlot(j)] > 0
        }
        return (nonFinite ? .nan : lossSum, terms, maxima[stopSlot] > 0)
    }

    /// 1. Once part `p` is final on this rank (its maxima noted): starts the maximum over ranks
    /// of the group that ends with it.
    private func startMaximum(_ p: Int) {
        guard maximumStarted < groups.count, groups[maximumStarted].upperBound - 1 == p else { return }
        let group = groups[maximumStarted]
        for s in tensors(of: group) {
            var m = 0.0
            for r in 0..<replicas.count { m = max(m, local[r * slots.count + s]) }
            maxima[maximumSlot(s)] = m
        }
        let range = maximaRange(group)
        do {
            maximumRequest.append(try comm.startAllReduce(UnsafeMutableBufferPointer(rebasing: maxima[range]), .max))
        } catch {
            failure = failure ?? error
            maximumRequest.append(0)
        }
        maximumStarted += 1
    }

    /// Starts the sums of the groups whose maxima are agreed, in order (between backward's steps).
    private func startReadySums() {
        while sumStarted < maximumStarted, failure == nil {
            do { guard try comm.isComplete(maximumRequest[sumStarted]) else { return } } catch {
                failure = error
                return
            }
            startSum(sumStarted)
        }
    }

    /// 2. Puts every micro-batch's gradient of group `index` on its tensors' grids, adds them
    /// (on each replica, then the replicas' into the first's) and starts the sum over ranks.
    private func startSum(_ index: Int) {
        let group = groups[index], tensors = tensors(of: group)
        for s in tensors { grids[s] = FixedPointGrid(maximum: maxima[maximumSlot(s)], addends: cut.count) }
        let P = layout.count, range = parameterRange(group)
        /// Adds replica r's micro-batches of the group, on their grids, into `sum` (P doubles).
        func quantize(_ r: Int, into sum: UnsafeMutablePointer<Double>) {
            let network = replicas.steps[r].network
            for s in tensors {
                let slot = slots[s], grid = grids[s]
                if let base = kept[r].baseAddress {
                    for b in 0..<keptCount[r] {
                        grid.accumulate(base + b * P + slot.offset, into: sum + slot.offset, count: slot.count)
                    }
                }
                if live[r] {
                    grid.accumulate(network.gradients.baseAddress + slot.offset, into: sum + slot.offset, count: slot.count)
                }
            }
        }
        guard let first = sums[0].baseAddress else { return }
        (first + range.lowerBound).update(repeating: 0, count: range.count)
        // On the replicas' threads when there is enough to share (waking them costs a few
        // microseconds, 3% of a 1/32/16/64 step, whose 1,200 gradients take less on this one),
        // each into its own sum, then added into the first: exact, so the same bits either way.
        let sources = (0..<replicas.count).reduce(0) { $0 + keptCount[$1] + (live[$1] ? 1 : 0) }
        if replicas.count > 1 && range.count * sources >= 1 << 16 {
            replicas.perform(replicas.count) { r, _ in
                guard let sum = sums[r].baseAddress else { return }
                if r > 0 { (sum + range.lowerBound).update(repeating: 0, count: range.count) }
                quantize(r, into: sum)
            }
            for r in 1..<replicas.count {
                guard let other = sums[r].baseAddress else { continue }
                for i in range { first[i] += other[i] }
            }
        } else {
            for r in 0..<replicas.count { quantize(r, into: first) }
        }
        do { _ = try comm.startAllReduce(UnsafeMutableBufferPointer(rebasing: sums[0][range]), .sum) } catch {
            failure = failure ?? error
        }
        sumStarted += 1
    }
}
