import ScryptexCore
import Synchronization
import Testing

@Suite("Service group: start together, stop once, in reverse order")
struct ServiceGroupTests {
    final class Journal: Sendable {
        private let lines = Mutex<[String]>([])
        func write(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }

    struct Recorded: LifecycleService {
        let name: String
        let journal: Journal
        var endsOnItsOwn = false
        var fails = false

        struct Failure: Error {}

        func run(until shutdown: OneShotEvent) async throws {
            journal.write("start \(name)")
            if fails { throw Failure() }
            if !endsOnItsOwn { await shutdown.wait() }
            journal.write("stop \(name)")
        }
    }

    @Test func theTriggerStopsEveryServiceLastFirst() async {
        let journal = Journal()
        let trigger = OneShotEvent()
        let names = ["servers", "listener", "jobs"]
        let group = ServiceGroup(names.map { Recorded(name: $0, journal: journal) }, logger: Logger(label: "test"))
        async let failure = group.run { await trigger.wait() }
        while journal.all.count < 3 { await Task.yield() }
        trigger.set()
        #expect(await failure == nil)
        #expect(Set(journal.all.prefix(3)) == Set(names.map { "start " + $0 }))
        #expect(Array(journal.all.dropFirst(3)) == ["stop jobs", "stop listener", "stop servers"])
    }

    @Test func aServiceThatEndsOrFailsStopsTheOthersAndIsReported() async {
        let journal = Journal()
        let group = ServiceGroup(
            [
                Recorded(name: "servers", journal: journal),
                Recorded(name: "broken", journal: journal, fails: true),
            ], logger: Logger(label: "test"))
        // The trigger never fires on its own: it ends only when the group cancels it.
        let failure = await group.run { await OneShotEvent().wait() }
        #expect(failure is Recorded.Failure)
        #expect(journal.all.last == "stop servers")
    }

    @Test func anEventWakesWaitersOnceAndAWaitCanTimeOut() async {
        let event = OneShotEvent()
        #expect(!(await event.wait(atMost: .milliseconds(20))))
        async let waiter: Void = event.wait()
        event.set()
        event.set()
        await waiter
        #expect(await event.wait(atMost: .seconds(5)))
        // A cancelled waiter stops waiting.
        let unset = OneShotEvent()
        let task = Task { await unset.wait() }
        task.cancel()
        await task.value
        #expect(!unset.isSet)
    }

    @Test func teardownStepsRunLastFirstOnce() async {
        let journal = Journal()
        var steps = TeardownSteps()
        steps.push("database") { journal.write("database") }
        steps.push("pool") { journal.write("pool") }
        await steps.unwind()
        await steps.unwind()
        #expect(journal.all == ["pool", "database"])
    }
}
