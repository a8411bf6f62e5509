import VisorCore

/// `foxglove.Vector3`.
public struct Vector3: Equatable, Sendable {
    public var x: Double, y: Double, z: Double
    public init(_ x: Double, _ y: Double, _ z: Double) { self.x = x; self.y = y; self.z = z }
    public static let zero = Vector3(0, 0, 0)
    public var length: Double { (x * x + y * y + z * z).squareRoot() }

    func encode(_ w: inout ProtobufWriter) { w.double(1, x); w.double(2, y); w.double(3, z) }

    static func decode(_ data: ArraySlice<UInt8>) throws -> Vector3 {
        var v = Vector3.zero
        var r = ProtobufReader(data)
        while let (field, value) = try r.next() {
            switch field {
            case 1: v.x = value.doubleValue ?? 0
            case 2: v.y = value.doubleValue ?? 0
            case 3: v.z = value.doubleValue ?? 0
            default: break
            }
        }
        return v
    }
}

/// `visor.Imu`: one sample of a gyroscope and accelerometer.
public struct ImuMessage: Equatable, Sendable {
    public var timestamp: FoxgloveTimestamp
    public var frameID: String
    public var sensor: String
    /// rad/s, in the sensor's axes.
    public var angularVelocity: Vector3
    /// m/s^2, gravity included, in the sensor's axes.
    public var linearAcceleration: Vector3

    public init(timestamp: FoxgloveTimestamp, frameID: String, sensor: String, angularVelocity: Vector3, linearAcceleration: Vector3) {
        self.timestamp = timestamp; self.frameID = frameID; self.sensor = sensor
        self.angularVelocity = angularVelocity; self.linearAcceleration = linearAcceleration
    }

    public func encoded() -> [UInt8] {
        var w = ProtobufWriter(capacity: 96)
        w.message(1, always: true) { timestamp.encode(&$0) }
        w.string(2, frameID)
        w.string(3, sensor)
        w.message(4, always: true) { angularVelocity.encode(&$0) }
        w.message(5, always: true) { linearAcceleration.encode(&$0) }
        return w.bytes
    }

    public static func decode(_ bytes: ArraySlice<UInt8>) throws -> ImuMessage {
        var m = ImuMessage(timestamp: FoxgloveTimestamp(nanoseconds: 0), frameID: "", sensor: "", angularVelocity: .zero, linearAcceleration: .zero)
        var r = ProtobufReader(bytes)
        while let (field, value) = try r.next() {
            switch field {
            case 1: m.timestamp = try FoxgloveTimestamp.decode(value.bytesValue ?? [])
            case 2: m.frameID = value.stringValue ?? ""
            case 3: m.sensor = value.stringValue ?? ""
            case 4: m.angularVelocity = try Vector3.decode(value.bytesValue ?? [])
            case 5: m.linearAcceleration = try Vector3.decode(value.bytesValue ?? [])
            default: break
            }
        }
        return m
    }
}

/// `visor.Gaze`: where the wearer looks.
public struct GazeMessage: Equatable, Sendable {
    public var timestamp: FoxgloveTimestamp
    public var frameID: String
    /// Radians from straight ahead: yaw positive to the left, pitch positive up.
    public var yaw: Double
    public var pitch: Double
    /// Metres to what is looked at; 0 when unknown.
    public var depth: Double
    /// The camera image the point is in (its frame id), empty when there is no point.
    public var imageFrameID: String
    public var imageX: Double
    public var imageY: Double
    public var confidence: Double

    public init(timestamp: FoxgloveTimestamp, frameID: String, yaw: Double, pitch: Double, depth: Double = 0,
                imageFrameID: String = "", imageX: Double = 0, imageY: Double = 0, confidence: Double = 1) {
        self.timestamp = timestamp; self.frameID = frameID; self.yaw = yaw; self.pitch = pitch; self.depth = depth
        self.imageFrameID = imageFrameID; self.imageX = imageX; self.imageY = imageY; self.confidence = confidence
    }

    public func encoded() -> [UInt8] {
        var w = ProtobufWriter(capacity: 96)
        w.message(1, always: true) { timestamp.encode(&$0) }
        w.string(2, frameID)
        w.double(3, yaw)
        w.double(4, pitch)
        w.double(5, depth)
        w.string(6, imageFrameID)
        w.double(7, imageX)
        w.double(8, imageY)
        w.double(9, confidence)
        return w.bytes
    }

    public static func decode(_ bytes: ArraySlice<UInt8>) throws -> GazeMessage {
        var m = GazeMessage(timestamp: FoxgloveTimestamp(nanoseconds: 0), frameID: "", yaw: 0, pitch: 0, confidence: 0)
        var r = ProtobufReader(bytes)
        while let (field, value) = try r.next() {
            switch field {
            case 1: m.timestamp = try FoxgloveTimestamp.decode(value.bytesValue ?? [])
            case 2: m.frameID = value.stringValue ?? ""
            case 3: m.yaw = value.doubleValue ?? 0
            case 4: m.pitch = value.doubleValue ?? 0
            case 5: m.depth = value.doubleValue ?? 0
            case 6: m.imageFrameID = value.stringValue ?? ""
            case 7: m.imageX = value.doubleValue ?? 0
            case 8: m.imageY = value.doubleValue ?? 0
            case 9: m.confidence = value.doubleValue ?? 0
            default: break
            }
        }
        return m
    }
}

/// `visor.MagneticField`: one magnetometer sample, in tesla.
public struct MagneticFieldMessage: Sendable {
    public var timestamp: FoxgloveTimestamp
    public var frameID: String
    public var magneticField: Vector3

    public init(timestamp: FoxgloveTimestamp, frameID: String, magneticField: Vector3) {
        self.timestamp = timestamp; self.frameID = frameID; self.magneticField = magneticField
    }

    public func encoded() -> [UInt8] {
        var w = ProtobufWriter(capacity: 64)
        w.message(1, always: true) { timestamp.encode(&$0) }
        w.string(2, frameID)
        w.message(3, always: true) { magneticField.encode(&$0) }
        return w.bytes
    }
}

/// `visor.Pressure`: one barometer sample.
public struct PressureMessage: Sendable {
    public var timestamp: FoxgloveTimestamp
    public var frameID: String
    /// Pascal.
    public var pressure: Double
    /// Degrees Celsius.
    public var temperature: Double

    public init(timestamp: FoxgloveTimestamp, frameID: String, pressure: Double, temperature: Double) {
        self.timestamp = timestamp; self.frameID = frameID; self.pressure = pressure; self.temperature = temperature
    }

    public func encoded() -> [UInt8] {
        var w = ProtobufWriter(capacity: 64)
        w.message(1, always: true) { timestamp.encode(&$0) }
        w.string(2, frameID)
        w.double(3, pressure)
        w.double(4, temperature)
        return w.bytes
    }
}

/// `foxglove.PoseInFrame`: a position (metres) and an orientation (unit quaternion) in a frame.
public struct PoseInFrameMessage: Sendable {
    public var timestamp: FoxgloveTimestamp
    public var frameID: String
    public var position: Vector3
    /// x, y, z, w.
    public var orientation: (x: Double, y: Double, z: Double, w: Double)

    public init(timestamp: FoxgloveTimestamp, frameID: String, position: Vector3, orientation: (x: Double, y: Double, z: Double, w: Double)) {
        self.timestamp = timestamp; self.frameID = frameID; self.position = position; self.orientation = orientation
    }

    public func encoded() -> [UInt8] {
        var w = ProtobufWriter(capacity: 96)
        w.message(1, always: true) { timestamp.encode(&$0) }
        w.string(2, frameID)
        w.message(3, always: true) { pose in
            pose.message(1, always: true) { position.encode(&$0) }
            pose.message(2, always: true) { q in
                q.double(1, orientation.x); q.double(2, orientation.y); q.double(3, orientation.z); q.double(4, orientation.w)
            }
        }
        return w.bytes
    }
}

/// `visor.Input`: a touchpad gesture or a button press.
public struct InputMessage: Equatable, Sendable {
    public var timestamp: FoxgloveTimestamp
    public var kind: String
    public var source: String

    public init(timestamp: FoxgloveTimestamp, kind: String, source: String) {
        self.timestamp = timestamp; self.kind = kind; self.source = source
    }

    public func encoded() -> [UInt8] {
        var w = ProtobufWriter(capacity: 48)
        w.message(1, always: true) { timestamp.encode(&$0) }
        w.string(2, kind)
        w.string(3, source)
        return w.bytes
    }

    public static func decode(_ bytes: ArraySlice<UInt8>) throws -> InputMessage {
        var m = InputMessage(timestamp: FoxgloveTimestamp(nanoseconds: 0), kind: "", source: "")
        var r = ProtobufReader(bytes)
        while let (field, value) = try r.next() {
            switch field {
            case 1: m.timestamp = try FoxgloveTimestamp.decode(value.bytesValue ?? [])
            case 2: m.kind = value.stringValue ?? ""
            case 3: m.source = value.stringValue ?? ""
            default: break
            }
        }
        return m
    }
}
