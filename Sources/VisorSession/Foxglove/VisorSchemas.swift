/// The schemas Visor defines for sensors Foxglove has none for (the IMU, eye gaze, the
/// magnetometer, the barometer, the touchpad and buttons), and Foxglove's pose, as
/// `FileDescriptorSet`s in the same form as Foxglove's own: any protobuf reader decodes them.
///
/// Units are SI: rad/s, m/s^2, tesla, pascal; angles in radians; times in the device's clock.
public enum VisorSchema: String, CaseIterable, Sendable {
    /// One IMU sample: `angular_velocity` (rad/s) and `linear_acceleration` (m/s^2, gravity
    /// included) as `foxglove.Vector3` in the sensor's own axes, `sensor` its name.
    case imu = "visor.Imu"
    /// Where the wearer looks: `yaw` (positive to the left) and `pitch` (positive up) in radians
    /// from straight ahead, `depth` in metres (0 when unknown), and the point in the camera
    /// image named by `image_frame_id` (`image_x`, `image_y` in that image's pixels as stored;
    /// `image_frame_id` empty when there is none), with a `confidence` from 0 to 1.
    case gaze = "visor.Gaze"
    /// One magnetometer sample, in tesla, in the sensor's axes.
    case magneticField = "visor.MagneticField"
    /// One barometer sample: `pressure` in pascal, `temperature` in degrees Celsius.
    case pressure = "visor.Pressure"
    /// A touchpad gesture or a button press: `kind` is tap, double_tap, long_press,
    /// swipe_forward, swipe_back or capture; `source` the control (touchpad, button, keyboard).
    case input = "visor.Input"
    /// Foxglove's `PoseInFrame`: the device's pose as its own tracking estimates it.
    case poseInFrame = "foxglove.PoseInFrame"

    public var name: String { rawValue }

    private static let vector3 = SchemaFile(package: "foxglove", message: "Vector3", dependencies: [],
                                            fields: [.init("x", 1, .double), .init("y", 2, .double), .init("z", 3, .double)])
    private static let quaternion = SchemaFile(package: "foxglove", message: "Quaternion", dependencies: [],
                                               fields: [.init("x", 1, .double), .init("y", 2, .double), .init("z", 3, .double), .init("w", 4, .double)])
    private static let pose = SchemaFile(package: "foxglove", message: "Pose", dependencies: [vector3.path, quaternion.path],
                                         fields: [.init("position", 1, .message, ".foxglove.Vector3"),
                                                  .init("orientation", 2, .message, ".foxglove.Quaternion")])
    private static let stamp = FieldDescription("timestamp", 1, .message, ".google.protobuf.Timestamp")

    /// The serialized `google.protobuf.FileDescriptorSet` for the schema record's data.
    public var fileDescriptorSet: [UInt8] {
        let parts = rawValue.split(separator: ".")
        let package = String(parts[0]), message = String(parts[1])
        let timestamp = SchemaFile.timestamp
        switch self {
        case .imu:
            return SchemaFile.set([timestamp, Self.vector3, SchemaFile(package: package, message: message, dependencies: [timestamp.path, Self.vector3.path], fields: [
                Self.stamp, .init("frame_id", 2, .string), .init("sensor", 3, .string),
                .init("angular_velocity", 4, .message, ".foxglove.Vector3"), .init("linear_acceleration", 5, .message, ".foxglove.Vector3"),
            ])])
        case .gaze:
            return SchemaFile.set([timestamp, SchemaFile(package: package, message: message, dependencies: [timestamp.path], fields: [
                Self.stamp, .init("frame_id", 2, .string), .init("yaw", 3, .double), .init("pitch", 4, .double), .init("depth", 5, .double),
                .init("image_frame_id", 6, .string), .init("image_x", 7, .double), .init("image_y", 8, .double), .init("confidence", 9, .double),
            ])])
        case .magneticField:
            return SchemaFile.set([timestamp, Self.vector3, SchemaFile(package: package, message: message, dependencies: [timestamp.path, Self.vector3.path], fields: [
                Self.stamp, .init("frame_id", 2, .string), .init("magnetic_field", 3, .message, ".foxglove.Vector3"),
            ])])
        case .pressure:
            return SchemaFile.set([timestamp, SchemaFile(package: package, message: message, dependencies: [timestamp.path], fields: [
                Self.stamp, .init("frame_id", 2, .string), .init("pressure", 3, .double), .init("temperature", 4, .double),
            ])])
        case .input:
            return SchemaFile.set([timestamp, SchemaFile(package: package, message: message, dependencies: [timestamp.path], fields: [
                Self.stamp, .init("kind", 2, .string), .init("source", 3, .string),
            ])])
        case .poseInFrame:
            return SchemaFile.set([timestamp, Self.vector3, Self.quaternion, Self.pose,
                                   SchemaFile(package: package, message: message, dependencies: [timestamp.path, Self.pose.path], fields: [
                                       Self.stamp, .init("frame_id", 2, .string), .init("pose", 3, .message, ".foxglove.Pose"),
                                   ])])
        }
    }
}
