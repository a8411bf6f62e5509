import VisorCore

/// One IMU sample: angular velocity (rad/s) and linear acceleration (m/s^2, gravity included),
/// in the sensor's axes, at its capture time.
public struct ImuSample: Equatable, Sendable {
    public var timeNanoseconds: UInt64
    public var gyro: (x: Double, y: Double, z: Double)
    public var accel: (x: Double, y: Double, z: Double)

    public init(timeNanoseconds: UInt64, gyro: (Double, Double, Double), accel: (Double, Double, Double)) {
        self.timeNanoseconds = timeNanoseconds
        self.gyro = (gyro.0, gyro.1, gyro.2)
        self.accel = (accel.0, accel.1, accel.2)
    }

    public static func == (a: ImuSample, b: ImuSample) -> Bool {
        a.timeNanoseconds == b.timeNanoseconds && a.gyro == b.gyro && a.accel == b.accel
    }
}

/// How the head moves, from the gyroscope and the accelerometer: walking when the accelerometer
/// shows steps (at least two in the last two seconds, at a walker's cadence), turning when the
/// head turns faster than `turningRadiansPerSecond` on average over the last quarter second,
/// still otherwise. Works in the sensor's own axes: it uses only the lengths of the vectors, so
/// it needs no calibration and no knowledge of how the IMU is mounted.
///
/// Steps: the length of the acceleration, smoothed over 50 ms, less its 1 s average (gravity and
/// any slow drift), crossing `stepThreshold` upwards, at least `minimumStepInterval` after the
/// last step. A state is reported once it has held for `settleNanoseconds` of IMU time, so that
/// one jolt is not a walk. Between a turn and a walk the head is still until the second step.
public final class ImuMotionEstimator {
    /// Average angular speed above which the head is turning (0.35 rad/s is 20 degrees a second).
    public var turningRadiansPerSecond = 0.35
    /// Rise of the acceleration's length over its 1 s average that counts as a step's impact, m/s^2.
    public var stepThreshold = 1.2
    public var minimumStepIntervalNanoseconds: UInt64 = 300_000_000
    public var maximumStepIntervalNanoseconds: UInt64 = 1_200_000_000
    public var settleNanoseconds: UInt64 = 100_000_000

    /// The reported state, with its rate: degrees a second turning, steps a minute walking.
    public private(set) var motion: HeadMotion?
    public private(set) var rate: Double = 0
    /// Time of the last sample taken.
    public private(set) var lastTimeNanoseconds: UInt64?

    private var gyroWindow: [(time: UInt64, speed: Double)] = []
    private var accelShort: [(time: UInt64, length: Double)] = []
    private var accelLong: [(time: UInt64, length: Double)] = []
    private var shortSum = 0.0, longSum = 0.0
    private var aboveThreshold = false
    private var steps: [UInt64] = []
    private var candidate: HeadMotion?
    private var candidateSince: UInt64 = 0
    private var stateSpeedSum = 0.0
    private var stateSamples = 0

    public init() {}

    /// Takes one sample (in time order; an older one is ignored). Returns true when the reported
    /// state changed.
    @discardableResult
    public func add(_ sample: ImuSample) -> Bool {
        let t = sample.timeNanoseconds
        if let last = lastTimeNanoseconds, t <= last { return false }
        lastTimeNanoseconds = t
        let g = sample.gyro, a = sample.accel
        gyroWindow.append((t, (g.x * g.x + g.y * g.y + g.z * g.z).squareRoot()))
        while let first = gyroWindow.first, t - first.time > 250_000_000 { gyroWindow.removeFirst() }
        let length = (a.x * a.x + a.y * a.y + a.z * a.z).squareRoot()
        accelShort.append((t, length)); shortSum += length
        while let first = accelShort.first, t - first.time > 50_000_000 { shortSum -= first.length; accelShort.removeFirst() }
        accelLong.append((t, length)); longSum += length
        while let first = accelLong.first, t - first.time > 1_000_000_000 { longSum -= first.length; accelLong.removeFirst() }

        let rise = shortSum / Double(accelShort.count) - longSum / Double(accelLong.count)
        if rise > stepThreshold, !aboveThreshold {
            if steps.last.map({ t - $0 >= minimumStepIntervalNanoseconds }) ?? true { steps.append(t) }
            aboveThreshold = true
        } else if rise < stepThreshold / 2 {
            aboveThreshold = false
        }
        while let first = steps.first, t - first > 2_000_000_000 { steps.removeFirst() }

        let speed = gyroWindow.reduce(0.0) { $0 + $1.speed } / Double(gyroWindow.count)
        let walking = steps.count >= 2 && zip(steps, steps.dropFirst()).allSatisfy { $1 - $0 <= maximumStepIntervalNanoseconds }
            && t - steps.last! <= maximumStepIntervalNanoseconds
        let now: HeadMotion = walking ? .walking : speed > turningRadiansPerSecond ? .turning : .still
        if now != candidate { candidate = now; candidateSince = t; stateSpeedSum = 0; stateSamples = 0 }
        stateSpeedSum += gyroWindow.last!.speed
        stateSamples += 1
        let changed = now != motion && t - candidateSince >= settleNanoseconds
        if changed { motion = now }
        switch motion {
        case .walking?:
            let intervals = zip(steps, steps.dropFirst()).map { Double($1 - $0) }
            if !intervals.isEmpty { rate = 60e9 / (intervals.reduce(0, +) / Double(intervals.count)) }
        case .turning?:
            // The mean angular speed since the turn began (the quarter-second window that
            // decides it straddles the start).
            rate = (motion == candidate ? stateSpeedSum / Double(stateSamples) : speed) * 180 / .pi
        default: rate = 0
        }
        return changed
    }
}
