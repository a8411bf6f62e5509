// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Visor",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "visor", targets: ["visor"]),
        .executable(name: "visor-benchmarks", targets: ["VisorBenchmarks"]),
        // alsa-lib loads `type visor` PCMs from a library of this name.
        .library(name: "asound_module_pcm_visor", type: .dynamic, targets: ["VisorALSAPlugin"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CTurboJPEG", pkgConfig: "libturbojpeg", providers: [.apt(["libturbojpeg0-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CZBar", pkgConfig: "zbar", providers: [.apt(["libzbar-dev"])]),
        .systemLibrary(name: "CV4L2", pkgConfig: "libv4l2", providers: [.apt(["libv4l-dev"])]),
        .systemLibrary(name: "CFUSE", pkgConfig: "fuse3", providers: [.apt(["libfuse3-dev"])]),
        .systemLibrary(name: "CV4LConvert", pkgConfig: "libv4lconvert", providers: [.apt(["libv4l-dev"])]),
        .systemLibrary(name: "CALSA", pkgConfig: "alsa", providers: [.apt(["libasound2-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CPocketSphinx", pkgConfig: "pocketsphinx", providers: [.apt(["libpocketsphinx-dev"])]),
        // libchafa, only for the terminal benchmark's side-by-side comparison.
        .systemLibrary(name: "CChafa", pkgConfig: "chafa", providers: [.apt(["libchafa-dev"])]),
        .systemLibrary(name: "CTesseract", pkgConfig: "tesseract", providers: [.apt(["libtesseract-dev"])]),
        // llama.cpp, built and installed (with llama.pc) by tools/setup.
        .systemLibrary(name: "CLlama", pkgConfig: "llama"),
        // flite has no pkg-config file: the module map names its libraries.
        .systemLibrary(name: "CFlite", providers: [.apt(["flite1-dev"])]),

        // Asks the kernel's fair scheduler for a short time slice for the frame path's thread.
        .target(name: "CVisorSched"),
        .target(name: "VisorCore", dependencies: ["CVisorSched"]),
        .target(name: "VisorMedia", dependencies: ["VisorCore", "CTurboJPEG", "CPNG"]),
        .target(name: "VisorSession", dependencies: [
            "VisorCore", "VisorMedia", "CZstd", "CLZ4", "CZlib",
            .product(name: "Logging", package: "swift-log"),
        ], resources: [.copy("Import/vrs_export.py")]),
        .target(name: "VisorDisplay", dependencies: ["VisorCore", "VisorMedia", "CZlib"]),
        .target(name: "VisorDevices", dependencies: [
            "VisorCore", "VisorMedia", "CV4L2", "CALSA", .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "VisorVirtualDevices", dependencies: [
            "VisorCore", "VisorMedia", "VisorSession", "CFUSE", "CV4L2", .product(name: "Logging", package: "swift-log"),
        ]),
        // The convolution kernels, in C with clang's vector extensions: one copy per family of
        // vector instructions (portable, AVX2 with FMA, AVX-512), each with its own target
        // attribute, chosen at run time by the CPU's features; nothing is built for the building
        // CPU. Optimised in every build, as VisorNeural is (a debug build of the kernels is
        // hundreds of times slower).
        .target(name: "CVisorKernels", cSettings: [.unsafeFlags(["-O2"])]),
        .target(name: "VisorNeural", dependencies: ["VisorCore", "CVisorKernels"], swiftSettings: [.unsafeFlags(["-O"])]),
        // whisper.cpp (libvisor-whisper, built and installed by tools/setup) behind a header of
        // Visor's own: whisper.h brings its own ggml headers, another version than llama.cpp's.
        .target(name: "CVisorWhisper", cSettings: [.unsafeFlags(["-I/usr/local/include/visor-whisper", "-O2"])],
                linkerSettings: [.unsafeFlags(["-L/usr/local/lib"]), .linkedLibrary("visor-whisper")]),
        .target(name: "VisorPerception", dependencies: [
            "VisorNeural", "CVisorWhisper",
            "VisorCore", "VisorMedia", "CZBar", "CTesseract", "CPocketSphinx", .product(name: "Logging", package: "swift-log"),
        ], resources: [.copy("Models")]),
        .target(name: "VisorAssistant", dependencies: [
            "VisorCore", "VisorMedia", "CLlama", "CFlite",
            .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Yams", package: "Yams"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "VisorRuntime", dependencies: [
            "VisorAssistant", "VisorCore", "VisorMedia", "VisorSession", "VisorDisplay", "VisorPerception", "VisorDevices",
            .product(name: "Histogram", package: "hdrhistogram-swift"),
            .product(name: "Logging", package: "swift-log"),
        ], resources: [.copy("Profiles")]),
        .executableTarget(name: "visor", dependencies: [
            "VisorAssistant", "VisorRuntime", "VisorSession", "VisorMedia", "VisorCore", "VisorDevices", "VisorVirtualDevices", "VisorDisplay", "VisorPerception",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "CMallocCounter"),
        // libFuzzer targets: `tools/fuzz` builds this with -sanitize=fuzzer,address; a plain build
        // replays inputs given as files (to reproduce a crash it found).
        .executableTarget(name: "VisorFuzz", dependencies: ["VisorSession", "VisorMedia", "VisorCore", "VisorNeural", "VisorAssistant"]),
        .target(name: "VisorALSAPlugin", cSettings: [.define("PIC")], linkerSettings: [.linkedLibrary("asound")]),
        .executableTarget(name: "VisorBenchmarks", dependencies: [
            "VisorSession", "VisorMedia", "VisorCore", "VisorRuntime", "VisorDisplay", "VisorDevices", "VisorPerception", "VisorAssistant", "CMallocCounter", "CChafa",
            "CV4L2", "CV4LConvert", .product(name: "Logging", package: "swift-log"),
        ]),

        .target(name: "VisorTestSupport", path: "Tests/VisorTestSupport"),
        .testTarget(name: "VisorCoreTests", dependencies: ["VisorCore"]),
        .testTarget(name: "VisorDisplayTests", dependencies: ["VisorDisplay", "VisorMedia", "VisorCore", "VisorTestSupport"]),
        .testTarget(name: "VisorVirtualDevicesTests", dependencies: ["VisorVirtualDevices", "VisorDevices", "VisorSession", "VisorMedia", "VisorCore", "VisorTestSupport"]),
        .testTarget(name: "VisorSessionTests", dependencies: ["VisorSession", "VisorMedia", "VisorCore", "VisorTestSupport"]),
        .testTarget(name: "VisorMediaTests", dependencies: ["VisorMedia", "VisorCore", "VisorTestSupport"]),
        .testTarget(name: "VisorRuntimeTests", dependencies: ["VisorRuntime", "VisorSession", "VisorCore", "VisorTestSupport"]),
        .testTarget(name: "VisorPerceptionTests", dependencies: ["VisorPerception", "VisorMedia", "VisorCore", "CTesseract"]),
        .testTarget(name: "VisorAssistantTests", dependencies: ["VisorAssistant", "VisorCore", "VisorTestSupport"]),
        .testTarget(name: "VisorNeuralTests", dependencies: ["VisorNeural", "VisorPerception", "VisorMedia", "VisorSession", "VisorCore", "VisorTestSupport"]),
        .testTarget(name: "VisorDevicesTests", dependencies: ["VisorDevices", "VisorSession", "VisorMedia", "VisorCore", "VisorTestSupport"]),
        .testTarget(name: "VisorCLITests", dependencies: ["VisorSession", "VisorMedia", "VisorCore", "VisorTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
