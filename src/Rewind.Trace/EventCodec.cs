namespace Rewind.Trace;

/// <summary>Binary encoding of events and effects. Instruction counts are stored as deltas.</summary>
internal static class EventCodec
{
    public static void Write(VarintWriter w, TraceEvent e, long previousInstruction)
    {
        w.Write((ulong)e.Kind);
        w.WriteSigned(e.Instruction - previousInstruction);
        switch (e)
        {
            case StartEvent start:
                WriteEffects(w, start.Effects);
                break;
            case SyscallEvent syscall:
                w.Write((ulong)syscall.Number);
                w.WriteSigned(syscall.Result);
                w.Write(syscall.Unsupported ? 1UL : 0UL);
                WriteEffects(w, syscall.Effects);
                break;
            case TimeStampEvent stamp:
                w.Write(stamp.Value);
                break;
            case ExitEvent exit:
                w.WriteSigned(exit.Status);
                break;
            case SignalEvent signal:
                w.Write((ulong)signal.Signal);
                w.Write(signal.Pc);
                w.Write(signal.Address);
                w.WriteSigned(signal.Code);
                w.Write(signal.Handled ? 1UL : 0UL);
                break;
            case SignalArrivalEvent arrival:
                w.Write((ulong)arrival.Signal);
                w.WriteSigned(arrival.Code);
                w.WriteSigned(arrival.SenderPid);
                w.Write((ulong)arrival.SenderUid);
                w.WriteSigned(arrival.TargetPid);
                w.Write((ulong)arrival.TargetThread);
                break;
            case ThreadSwitchEvent threadSwitch:
                w.Write((ulong)threadSwitch.Thread);
                w.Write(threadSwitch.Result is null ? 0UL : 1UL);
                if (threadSwitch.Result is { } result)
                    w.WriteSigned(result);
                break;
            default:
                throw new ArgumentException($"unknown event {e.GetType().Name}", nameof(e));
        }
    }

    public static TraceEvent Read(ref VarintReader r, long previousInstruction)
    {
        var kind = (EventKind)r.ReadUnsigned();
        var instruction = previousInstruction + r.ReadSigned();
        return kind switch
        {
            EventKind.Start => new StartEvent(ReadEffects(ref r)),
            EventKind.Syscall => new SyscallEvent(instruction, r.ReadInt(), r.ReadSigned(), r.ReadUnsigned() != 0, ReadEffects(ref r)),
            EventKind.TimeStamp => new TimeStampEvent(instruction, r.ReadUnsigned()),
            EventKind.Exit => new ExitEvent(instruction, (int)r.ReadSigned()),
            EventKind.Signal => new SignalEvent(instruction, r.ReadInt(), r.ReadUnsigned(), r.ReadUnsigned(), (int)r.ReadSigned(), r.ReadUnsigned() != 0),
            EventKind.SignalArrival => new SignalArrivalEvent(instruction, r.ReadInt(), (int)r.ReadSigned(), (int)r.ReadSigned(), (uint)r.ReadUnsigned(), (int)r.ReadSigned(), (long)r.ReadUnsigned()),
            EventKind.ThreadSwitch => new ThreadSwitchEvent(instruction, (long)r.ReadUnsigned(), r.ReadUnsigned() != 0 ? r.ReadSigned() : null),
            _ => throw new InvalidDataException($"unknown event kind {(int)kind}"),
        };
    }

    static void WriteEffects(VarintWriter w, IReadOnlyList<Effect> effects)
    {
        w.Write((ulong)effects.Count);
        foreach (var effect in effects)
        {
            w.Write((ulong)effect.Kind);
            switch (effect)
            {
                case MemoryWrite write:
                    w.Write(write.Address);
                    w.Write(write.Data);
                    break;
                case MemoryBlobWrite blob:
                    w.Write(blob.Address);
                    w.Write(blob.Blob);
                    w.Write((ulong)blob.Length);
                    break;
                case MapEffect map:
                    w.Write(map.Address);
                    w.Write(map.Length);
                    w.Write((ulong)map.Protection);
                    w.Write(map.Shared ? 1UL : 0UL);
                    w.Write(map.Path);
                    w.Write(map.FileOffset);
                    w.Write(map.Label);
                    w.Write((ulong)map.Pages.Count);
                    foreach (var page in map.Pages)
                        w.Write(page);
                    break;
                case UnmapEffect unmap:
                    w.Write(unmap.Address);
                    w.Write(unmap.Length);
                    break;
                case ProtectEffect protect:
                    w.Write(protect.Address);
                    w.Write(protect.Length);
                    w.Write((ulong)protect.Protection);
                    break;
                case RemapEffect remap:
                    w.Write(remap.OldAddress);
                    w.Write(remap.OldLength);
                    w.Write(remap.NewLength);
                    w.Write(remap.NewAddress);
                    break;
                case BrkEffect brk:
                    w.Write(brk.Value);
                    break;
                case InitBrkEffect init:
                    w.Write(init.Value);
                    break;
                case DiscardEffect discard:
                    w.Write(discard.Address);
                    w.Write(discard.Length);
                    break;
                case RegisterEffect register:
                    w.Write((ulong)register.Register);
                    w.Write(register.Value);
                    break;
                case NameEffect name:
                    w.Write(name.Name);
                    break;
                case ExecEffect exec:
                    w.Write(exec.Path);
                    w.Write((ulong)exec.Arguments.Count);
                    foreach (var argument in exec.Arguments)
                        w.Write(argument);
                    break;
                case ThreadCreatedEffect created:
                    w.Write((ulong)created.Tid);
                    w.Write((ulong)created.UniqueId);
                    w.Write(created.Registers);
                    break;
                case ThreadExitedEffect exited:
                    w.Write((ulong)exited.UniqueId);
                    break;
                case ProcessCreatedEffect created:
                    w.Write((ulong)created.Pid);
                    w.Write((ulong)created.UniqueId);
                    w.Write(created.Registers);
                    w.Write(created.SetTidAt);
                    w.Write(created.ClearTidAt);
                    break;
                case ProcessExitedEffect exited:
                    w.Write((ulong)exited.WaitStatus);
                    break;
                case OutputEffect output:
                    w.Write((ulong)output.Stream);
                    break;
                case ProcessLeftEffect:
                    break;
                case ImageEffect image:
                    w.Write(image.Path);
                    w.Write(image.Length);
                    w.Write((ulong)image.Pages.Count);
                    foreach (var page in image.Pages)
                        w.Write(page);
                    break;
                default:
                    throw new ArgumentException($"unknown effect {effect.GetType().Name}", nameof(effects));
            }
        }
    }

    static Effect[] ReadEffects(ref VarintReader r)
    {
        var count = r.ReadInt();
        var effects = new Effect[count];
        for (var i = 0; i < count; i++)
        {
            var kind = (EffectKind)r.ReadUnsigned();
            effects[i] = kind switch
            {
                EffectKind.Write => new MemoryWrite(r.ReadUnsigned(), r.ReadBytes()),
                EffectKind.WriteBlob => new MemoryBlobWrite(r.ReadUnsigned(), r.ReadHash(), r.ReadInt()),
                EffectKind.Map => ReadMap(ref r),
                EffectKind.Unmap => new UnmapEffect(r.ReadUnsigned(), r.ReadUnsigned()),
                EffectKind.Protect => new ProtectEffect(r.ReadUnsigned(), r.ReadUnsigned(), r.ReadInt()),
                EffectKind.Remap => new RemapEffect(r.ReadUnsigned(), r.ReadUnsigned(), r.ReadUnsigned(), r.ReadUnsigned()),
                EffectKind.Brk => new BrkEffect(r.ReadUnsigned()),
                EffectKind.InitBrk => new InitBrkEffect(r.ReadUnsigned()),
                EffectKind.Discard => new DiscardEffect(r.ReadUnsigned(), r.ReadUnsigned()),
                EffectKind.Register => new RegisterEffect(r.ReadInt(), r.ReadUnsigned()),
                EffectKind.Name => new NameEffect(r.ReadString() ?? ""),
                EffectKind.Exec => ReadExec(ref r),
                EffectKind.ThreadCreated => new ThreadCreatedEffect(r.ReadInt(), (long)r.ReadUnsigned(), r.ReadBytes()),
                EffectKind.ThreadExited => new ThreadExitedEffect((long)r.ReadUnsigned()),
                EffectKind.ProcessCreated => new ProcessCreatedEffect(r.ReadInt(), (long)r.ReadUnsigned(), r.ReadBytes(), r.ReadUnsigned(), r.ReadUnsigned()),
                EffectKind.ProcessExited => new ProcessExitedEffect(r.ReadInt()),
                EffectKind.Output => new OutputEffect(r.ReadInt()),
                EffectKind.ProcessLeft => new ProcessLeftEffect(),
                EffectKind.Image => ReadImage(ref r),
                _ => throw new InvalidDataException($"unknown effect kind {(int)kind}"),
            };
        }
        return effects;
    }

    static ExecEffect ReadExec(ref VarintReader r)
    {
        var path = r.ReadString() ?? "";
        var arguments = new string[r.ReadInt()];
        for (var i = 0; i < arguments.Length; i++)
            arguments[i] = r.ReadString() ?? "";
        return new ExecEffect(path, arguments);
    }

    static ImageEffect ReadImage(ref VarintReader r)
    {
        var (path, length) = (r.ReadString() ?? "", r.ReadUnsigned());
        var pages = new UInt128[r.ReadInt()];
        for (var i = 0; i < pages.Length; i++)
            pages[i] = r.ReadHash();
        return new ImageEffect(path, length, pages);
    }

    static MapEffect ReadMap(ref VarintReader r)
    {
        var (address, length, protection, shared) = (r.ReadUnsigned(), r.ReadUnsigned(), r.ReadInt(), r.ReadUnsigned() != 0);
        var (path, offset, label) = (r.ReadString(), r.ReadUnsigned(), r.ReadString());
        var pages = new UInt128[r.ReadInt()];
        for (var i = 0; i < pages.Length; i++)
            pages[i] = r.ReadHash();
        return new MapEffect(address, length, protection, shared, path, offset, label, pages);
    }
}
