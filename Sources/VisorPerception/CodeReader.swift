import CZBar
import VisorCore

/// Reads QR codes and barcodes with ZBar: a slow stage, run on a worker on the newest frame.
/// Converts the frame to 8-bit grey once into a reused buffer; ZBar wraps that buffer without
/// copying. A code is reported when it comes into view, and again only after it left the view.
public final class CodeReader {
    private let scanner: OpaquePointer
    private var grey: [UInt8] = []
    private var inView: Set<String> = []

    public init() throws {
        guard let scanner = zbar_image_scanner_create() else { throw VisorError("ZBar could not create an image scanner") }
        self.scanner = scanner
        // Every symbology (the default), plus positions for boxes; but not GS1 DataBar, whose
        // decoder in Debian's ZBar prints assertion warnings on stderr for ordinary scenes.
        zbar_image_scanner_set_config(scanner, ZBAR_NONE, ZBAR_CFG_ENABLE, 1)
        zbar_image_scanner_set_config(scanner, ZBAR_NONE, ZBAR_CFG_POSITION, 1)
        zbar_image_scanner_set_config(scanner, ZBAR_DATABAR, ZBAR_CFG_ENABLE, 0)
        zbar_image_scanner_set_config(scanner, ZBAR_DATABAR_EXP, ZBAR_CFG_ENABLE, 0)
    }

    deinit { zbar_image_scanner_destroy(scanner) }

    /// The codes in the frame, each with its payload, symbology and bounding box.
    public func read(_ frame: Frame) -> [CodeSighting] {
        let width = frame.widthPixels, height = frame.heightPixels
        let count = width * height
        guard count > 0 else { return [] }
        if grey.count != count { grey = [UInt8](repeating: 0, count: count) }
        frame.pixels.withUnsafeBufferPointer { src in
            grey.withUnsafeMutableBufferPointer { dst in
                for i in 0..<count {
                    let r = UInt32(src[3 * i]), g = UInt32(src[3 * i + 1]), b = UInt32(src[3 * i + 2])
                    dst[i] = UInt8(truncatingIfNeeded: (77 &* r &+ 150 &* g &+ 29 &* b) >> 8)
                }
            }
        }
        guard let image = zbar_image_create() else { return [] }
        defer { zbar_image_destroy(image) }
        zbar_image_set_format(image, VISOR_ZBAR_FOURCC_Y800)
        zbar_image_set_size(image, UInt32(width), UInt32(height))
        var sightings: [CodeSighting] = []
        grey.withUnsafeBufferPointer { buffer in
            zbar_image_set_data(image, buffer.baseAddress, UInt(count), nil)
            guard zbar_scan_image(scanner, image) > 0 else { return }
            var symbol = zbar_image_first_symbol(image)
            while let s = symbol {
                let payload = zbar_symbol_get_data(s).map { String(cString: $0) } ?? ""
                let symbology = String(cString: zbar_get_symbol_name(zbar_symbol_get_type(s)))
                var xs: [Int] = [], ys: [Int] = []
                for p in 0..<zbar_symbol_get_loc_size(s) {
                    xs.append(Int(zbar_symbol_get_loc_x(s, p))); ys.append(Int(zbar_symbol_get_loc_y(s, p)))
                }
                let box: PixelRect = xs.isEmpty ? [0, 0, 0, 0] : [xs.min()!, ys.min()!, xs.max()! - xs.min()! + 1, ys.max()! - ys.min()! + 1]
                sightings.append(CodeSighting(payload: payload, symbology: symbology, box: box, captureTimeNanoseconds: frame.captureTimeNanoseconds))
                symbol = zbar_symbol_next(s)
            }
        }
        zbar_image_scanner_recycle_image(scanner, image)
        return sightings.sorted { ($0.symbology, $0.payload) < ($1.symbology, $1.payload) }
    }

    /// Sightings of codes that were not in view on the previous frame read.
    public func newlySeen(in sightings: [CodeSighting]) -> [CodeSighting] {
        let keys = Set(sightings.map { "\($0.symbology):\($0.payload)" })
        defer { inView = keys }
        return sightings.filter { !inView.contains("\($0.symbology):\($0.payload)") }
    }
}
