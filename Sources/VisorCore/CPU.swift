import CVisorKernels

/// What the CPU Visor runs on can execute, beyond the x86-64 baseline Visor itself is built for.
public enum CPU {
    /// Whether code built for x86-64-v3 (AVX2, FMA, F16C, BMI2, ...) runs here, from CPUID: the
    /// level whose build of llama.cpp's and whisper.cpp's CPU code the dynamic loader takes
    /// (`tools/setup` installs one for x86-64-v2 as well). On other architectures those
    /// libraries are built for the machine, and this is true.
    public static let runsX8664v3: Bool = {
        #if arch(x86_64)
        return vk_x86_64_v3() != 0
        #else
        return true
        #endif
    }()
}
