// Package scripting runs the JavaScript plugins of a workspace over its
// events, in a sandbox, within a budget.
//
// A plugin defines onEvent(event, ctx) and returns the event (changed or
// not), null to drop it, or an array of events; GUIDE.md in package
// plugins is the script author's guide. Compile checks and compiles a
// source once (*goja.Program is shared); each call borrows a runtime
// loaded with it (a goja runtime is not goroutine-safe). A Chain runs a
// workspace's plugins in order and counts their failures.
//
// # What crosses into a script
//
// Only plain data: events and config go in as ordinary JavaScript objects
// built from their JSON, and results come out through a JSON serialiser.
// No Go value or method is ever exposed. A script has the ECMAScript
// built-ins and ctx (log, config, now, reply, localTime) and nothing else:
// no require, file system, network, timers or host objects. Parsing never
// reads source maps (goja would read them from the file system).
//
// # Limits (Limits, DefaultLimits)
//
//   - Time: each call (conversions included) runs under a watchdog that
//     interrupts it after Budget (50 ms). Top-level code is held to the
//     same budget when a runtime is loaded.
//   - Stack: MaxCallStackSize (256) frames; deeper recursion fails.
//   - Size: source (64 KiB), config (16 KiB), each event in and out
//     (256 KiB of JSON), and how many events one may become (16).
//   - Memory: goja has no memory limit and cannot interrupt its built-ins
//     (they are Go code). The watchdog looks at the process heap every
//     millisecond of a call and interrupts it when the heap has grown by
//     MaxHeapGrowth (64 MiB); this is approximate (the heap is shared with
//     the rest of the process) and can only act between two JavaScript
//     steps. So the built-ins that build a large result in one step are
//     replaced by size-checked versions that throw a RangeError instead:
//     String.prototype.repeat, padStart, padEnd, concat, replace and
//     replaceAll and RegExp.prototype[Symbol.replace] (results over
//     MaxStringLength, 1 Mi characters); JSON.stringify (same limit; it is
//     this package's serialiser); the Array constructor, Array.from and
//     every Array.prototype method, iteration included (receivers or
//     results over MaxArrayLength, 64 Ki elements, since a script can set
//     an array's length to billions without allocating and the built-ins
//     walk it natively); join, toString and toLocaleString (results over
//     MaxStringLength); Function.prototype.apply, Reflect.apply and
//     Reflect.construct (argument lists over MaxArrayLength). Binary
//     buffers (ArrayBuffer, typed arrays, DataView, Atomics), String.raw,
//     JSON.rawJSON, WeakRef and FinalizationRegistry are removed.
//   - Regular expressions that goja runs on a backtracking engine (those
//     with backreferences or lookaround) give up a match after 100 ms and
//     find nothing; the others run in linear time.
//   - A runtime that was interrupted or overflowed its stack is dropped,
//     never reused.
//
// # Remaining risk
//
// The guards stop the known one-step amplifiers; they are not a memory
// limit. A script can still allocate as fast as it can for the length of
// its budget (doubling a string with + reaches hundreds of MiB in a few
// dozen steps; the heap watchdog stops it at the next step past the
// limit), and a built-in that is slow rather than large (sorting 64 Ki
// strings, a backtracking regular expression's 100 ms) runs to its end
// before the interrupt lands, past the budget. Spreading or destructuring
// goes through the guarded array iterator, but the language itself (a
// long string built with +, deep object graphs) is not guarded. A plugin
// failing DisableAfter times in a row is disabled. The only hard bound
// would be running plugins in a separate process with an OS memory limit,
// which this package does not do.
package scripting
