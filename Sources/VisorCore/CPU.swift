import CVisorKernels

/// What the CPU Visor runs on can execute, beyond the x86-64 baseline Visor itself is built for.
public enum CPU {
    /// Whether code built for x86-64-v3 (AVX2, FMA, F16C, BMI2, ...) runs here, from CPUID: the
    /// instruction set `tools/setup` builds llama.cpp and whisper.cpp for. On other architectures
    /// those libraries are built for the machine, and this is true.
    public static let runsX8664v3: Bool = {
        #if arch(x86_64)
        return vk_x86_64_v3() != 0
        #else
        return true
        #endif
    }()

    /// Throws, before a library built for x86-64-v3 is called, on a CPU that would stop the
    /// process there with an illegal instruction.
    /// - Parameters:
    ///   - library: what needs it ("llama.cpp, the language model's runtime").
    ///   - instead: what the wearer can do without it.
    public static func requireX8664v3(for library: String, instead: String) throws {
        guard !runsX8664v3 else { return }
        throw VisorError("\(library) was built for x86-64-v3 (AVX2, FMA, F16C) and this CPU lacks them: \(instead)")
    }
}
