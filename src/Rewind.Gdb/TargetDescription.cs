using System.Text;
using Rewind.Engine;

namespace Rewind.Gdb;

/// <summary>
/// The registers gdb is told about (its amd64 Linux numbering: general registers, rip, eflags,
/// segment selectors, x87, SSE, orig_rax, fs and gs bases), the target description that names them,
/// and their bytes in a 'g' reply, from a thread's <see cref="RegisterFile"/> image.
/// </summary>
internal static class TargetDescription
{
    /// <summary>Where a register's bytes are in a thread's register file, or (offset -1) the constant it always holds in a Linux user thread.</summary>
    readonly record struct Register(string Name, int Bits, string Type, string Feature, int Offset, ulong Constant = 0)
    {
        public const int Fixed = -1;
    }

    const string Core = "org.gnu.gdb.i386.core", Sse = "org.gnu.gdb.i386.sse", Linux = "org.gnu.gdb.i386.linux", Segments = "org.gnu.gdb.i386.segments";

    static int In(X86Register register) => Array.IndexOf(RegisterFile.Registers, register) * 8;

    static readonly int XmmStart = RegisterFile.Registers.Length * 8, StStart = XmmStart + 16 * 16;

    static readonly Register[] Registers = Build();

    static Register[] Build()
    {
        var list = new List<Register>();
        string[] general = ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"];
        X86Register[] generalRegisters =
        [
            X86Register.Rax, X86Register.Rbx, X86Register.Rcx, X86Register.Rdx, X86Register.Rsi, X86Register.Rdi, X86Register.Rbp, X86Register.Rsp,
            X86Register.R8, X86Register.R9, X86Register.R10, X86Register.R11, X86Register.R12, X86Register.R13, X86Register.R14, X86Register.R15,
        ];
        for (var i = 0; i < general.Length; i++)
            list.Add(new(general[i], 64, i is 6 or 7 ? "data_ptr" : "int64", Core, In(generalRegisters[i])));
        list.Add(new("rip", 64, "code_ptr", Core, In(X86Register.Rip)));
        list.Add(new("eflags", 32, "i386_eflags", Core, In(X86Register.Eflags)));
        // The selectors of every 64-bit Linux user thread.
        foreach (var (name, value) in new[] { ("cs", 0x33UL), ("ss", 0x2bUL), ("ds", 0UL), ("es", 0UL), ("fs", 0UL), ("gs", 0UL) })
            list.Add(new(name, 32, "int32", Core, Register.Fixed, value));
        for (var i = 0; i < 8; i++)
            list.Add(new($"st{i}", 80, "i387_ext", Core, StStart + i * 10));
        list.Add(new("fctrl", 32, "int", Core, In(X86Register.Fpcw)));
        list.Add(new("fstat", 32, "int", Core, In(X86Register.Fpsw)));
        list.Add(new("ftag", 32, "int", Core, In(X86Register.Fptag)));
        foreach (var name in new[] { "fiseg", "fioff", "foseg", "fooff", "fop" })
            list.Add(new(name, 32, "int", Core, Register.Fixed));
        for (var i = 0; i < 16; i++)
            list.Add(new($"xmm{i}", 128, "vec128", Sse, XmmStart + i * 16));
        list.Add(new("mxcsr", 32, "i386_mxcsr", Sse, In(X86Register.Mxcsr)));
        list.Add(new("orig_rax", 64, "int", Linux, Register.Fixed, ulong.MaxValue));
        list.Add(new("fs_base", 64, "int", Segments, In(X86Register.FsBase)));
        list.Add(new("gs_base", 64, "int", Segments, In(X86Register.GsBase)));
        return [.. list];
    }

    public static int Count => Registers.Length;

    /// <summary>Register <paramref name="number"/> of <paramref name="state"/> as hex, in target byte order.</summary>
    public static void AppendHex(StringBuilder output, ReadOnlySpan<byte> state, int number)
    {
        var register = Registers[number];
        var length = register.Bits / 8;
        for (var i = 0; i < length; i++)
        {
            var value = register.Offset == Register.Fixed ? (byte)(register.Constant >> (8 * i)) : state[register.Offset + i];
            output.Append(value.ToString("x2"));
        }
    }

    /// <summary>All registers, as a 'g' reply.</summary>
    public static string AllHex(ReadOnlySpan<byte> state)
    {
        var output = new StringBuilder(1200);
        for (var i = 0; i < Registers.Length; i++)
            AppendHex(output, state, i);
        return output.ToString();
    }

    public static int ProgramCounter => 16;

    public static int StackPointer => 7;

    public static int FramePointer => 6;

    /// <summary>The target description gdb asks for as target.xml.</summary>
    public static string Xml { get; } = BuildXml();

    static string BuildXml()
    {
        var xml = new StringBuilder();
        xml.Append("<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n<target version=\"1.0\">\n");
        xml.Append("<architecture>i386:x86-64</architecture>\n<osabi>GNU/Linux</osabi>\n");
        foreach (var feature in Registers.Select(r => r.Feature).Distinct())
        {
            xml.Append($"<feature name=\"{feature}\">\n").Append(Types(feature));
            for (var number = 0; number < Registers.Length; number++)
            {
                var register = Registers[number];
                if (register.Feature == feature)
                    xml.Append($"<reg name=\"{register.Name}\" bitsize=\"{register.Bits}\" type=\"{register.Type}\" regnum=\"{number}\"/>\n");
            }
            xml.Append("</feature>\n");
        }
        return xml.Append("</target>\n").ToString();
    }

    static string Types(string feature) => feature switch
    {
        Core => Flags("i386_eflags", ["CF", "", "PF", "", "AF", "", "ZF", "SF", "TF", "IF", "DF", "OF", "", "", "NT", "", "RF", "VM", "AC", "VIF", "VIP", "ID"]),
        Sse => """
            <vector id="v8bf16" type="bfloat16" count="8"/>
            <vector id="v8h" type="ieee_half" count="8"/>
            <vector id="v4f" type="ieee_single" count="4"/>
            <vector id="v2d" type="ieee_double" count="2"/>
            <vector id="v16i8" type="int8" count="16"/>
            <vector id="v8i16" type="int16" count="8"/>
            <vector id="v4i32" type="int32" count="4"/>
            <vector id="v2i64" type="int64" count="2"/>
            <union id="vec128">
            <field name="v8_bfloat16" type="v8bf16"/><field name="v8_half" type="v8h"/><field name="v4_float" type="v4f"/><field name="v2_double" type="v2d"/><field name="v16_int8" type="v16i8"/>
            <field name="v8_int16" type="v8i16"/><field name="v4_int32" type="v4i32"/><field name="v2_int64" type="v2i64"/>
            <field name="uint128" type="uint128"/>
            </union>

            """ + Flags("i386_mxcsr", ["IE", "DE", "ZE", "OE", "UE", "PE", "DAZ", "IM", "DM", "ZM", "OM", "UM", "PM", "FZ"]),
        _ => "",
    };

    static string Flags(string id, string[] bits)
    {
        var flags = new StringBuilder($"<flags id=\"{id}\" size=\"4\">\n");
        for (var bit = 0; bit < bits.Length; bit++)
        {
            if (bits[bit].Length > 0 || bit == 1 && id == "i386_eflags")
                flags.Append($"<field name=\"{bits[bit]}\" start=\"{bit}\" end=\"{bit}\"/>\n");
        }
        return flags.Append("</flags>\n").ToString();
    }
}
