import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Threads that run one job on every replica at once, for steps too short for GCD.
///
/// Hand-written because a step of a small model takes ~0.1 ms: `DispatchQueue.concurrentPerform`
/// wakes a parked worker for each call, which made one process with two replicas 0.55× as fast
/// as two ranks at I/H/T/B = 1/32/16/64 (`bench`, 0.137 vs 0.075 ms/step). Here each worker
/// spins on a generation counter for a while after a job (the next step's job comes within
/// microseconds) and only then parks on a condition variable.
final class ReplicaPool: @unchecked Sendable {
    /// Workers besides the calling thread, which runs part 0.
    let workers: Int
    private let generation = Atomic<Int>(0)
    private let remaining = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    /// What `run` runs on every part.
    private let body: @Sendable (Int) -> Void
    private var mutex = pthread_mutex_t()
    private var wake = pthread_cond_t()
    private var threads: [pthread_t] = []

    /// Spins this many times waiting for the next job before parking (~100 µs).
    private static let spins = 40_000

    init(parts: Int, body: @escaping @Sendable (Int) -> Void) {
        workers = max(0, parts - 1)
        self.body = body
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&wake, nil)
        for i in 0..<workers {
            // The thread holds the pool without retaining it: deinit joins every thread first.
            let context = Unmanaged.passRetained(Start(pool: self, part: i + 1)).toOpaque()
            var thread = pthread_t()
            if pthread_create(
                &thread, nil,
                { raw in
                    guard let raw else { return nil }
                    let start = Unmanaged<Start>.fromOpaque(raw).takeRetainedValue()
                    start.pool.work(part: start.part)
                    return nil
                }, context) == 0
            {
                threads.append(thread)
            } else {
                Unmanaged<Start>.fromOpaque(context).release()
            }
        }
    }

    deinit {
        stopping.store(true, ordering: .releasing)
        pthread_mutex_lock(&mutex)
        generation.add(1, ordering: .releasing)
        pthread_cond_broadcast(&wake)
        pthread_mutex_unlock(&mutex)
        for t in threads { pthread_join(t, nil) }
        pthread_cond_destroy(&wake)
        pthread_mutex_destroy(&mutex)
    }

    private final class Start {
        unowned(unsafe) let pool: ReplicaPool
        let part: Int
        init(pool: ReplicaPool, part: Int) {
            self.pool = pool
            self.part = part
        }
    }

    /// Runs `body(part)` for part 0 ..< workers + 1 at once (part 0 on the calling thread) and
    /// returns when all have returned. Nothing is allocated.
    func run() {
        guard threads.count == workers, workers > 0 else {
            for part in 0...workers { body(part) }
            return
        }
        remaining.store(workers, ordering: .relaxed)
        pthread_mutex_lock(&mutex)
        generation.add(1, ordering: .releasing)
        pthread_cond_broadcast(&wake)
        pthread_mutex_unlock(&mutex)
        body(0)
        var spun = 0
        while remaining.load(ordering: .acquiring) > 0 { spinPause(&spun) }
    }

    private func work(part: Int) {
        var seen = 0
        while true {
            var spun = 0
            while generation.load(ordering: .acquiring) == seen {
                if spun < Self.spins {
                    spinPause(&spun)
                    continue
                }
                pthread_mutex_lock(&mutex)
                while generation.load(ordering: .acquiring) == seen { pthread_cond_wait(&wake, &mutex) }
                pthread_mutex_unlock(&mutex)
            }
            seen = generation.load(ordering: .acquiring)
            if stopping.load(ordering: .acquiring) { return }
            body(part)
            remaining.subtract(1, ordering: .releasing)
        }
    }

    /// One busy-wait iteration; every 1024th yields the core, so that a thread waiting for
    /// another that the scheduler put on the same core lets it run.
    @inline(__always) private func spinPause(_ spun: inout Int) {
        spun += 1
        if spun & 1023 == 0 { sched_yield() }
    }
}
