using System.Text;

namespace Rewind.Linux.Loader;

/// <summary>The "#!interpreter [argument]" line of a script, parsed as Linux's binfmt_script does.</summary>
public static class Shebang
{
    const int MaxLine = 256;

    public static bool TryRead(Stream file, out string interpreter, out string? argument)
    {
        interpreter = "";
        argument = null;
        Span<byte> head = stackalloc byte[MaxLine];
        var length = file.ReadAtLeast(head, MaxLine, throwOnEndOfStream: false);
        if (length < 2 || head[0] != '#' || head[1] != '!')
            return false;
        var line = head[2..length];
        var end = line.IndexOf((byte)'\n');
        var text = Encoding.UTF8.GetString(end >= 0 ? line[..end] : line).Trim(' ', '\t');
        if (text.Length == 0)
            throw new InvalidDataException("empty #! line");
        var split = text.IndexOfAny([' ', '\t']);
        interpreter = split < 0 ? text : text[..split];
        argument = split < 0 ? null : text[(split + 1)..].Trim(' ', '\t');
        return true;
    }
}
