namespace Teletherapy.MediaRelay.Sdp;

/// <summary>Lookups over an ordered attribute list shared by the session and media levels.</summary>
internal static class SdpAttributeList
{
    public static string? ValueOf(this IList<SdpAttribute> attributes, string name)
    {
        foreach (SdpAttribute attribute in attributes)
        {
            if (attribute.Name == name)
            {
                return attribute.Value;
            }
        }

        return null;
    }

    public static bool Has(this IList<SdpAttribute> attributes, string name)
    {
        foreach (SdpAttribute attribute in attributes)
        {
            if (attribute.Name == name)
            {
                return true;
            }
        }

        return false;
    }

    public delegate bool ValueParser<T>(string? value, out T? parsed);

    /// <summary>Every attribute of this name that parses; malformed ones are skipped, never thrown on.</summary>
    public static IReadOnlyList<T> ParseAll<T>(this IList<SdpAttribute> attributes, string name, ValueParser<T> parser)
        where T : class
    {
        var result = new List<T>();
        foreach (SdpAttribute attribute in attributes)
        {
            if (attribute.Name == name && parser(attribute.Value, out T? parsed) && parsed is not null)
            {
                result.Add(parsed);
            }
        }

        return result;
    }

    public static T? ParseFirst<T>(this IList<SdpAttribute> attributes, string name, ValueParser<T> parser)
        where T : class
    {
        foreach (SdpAttribute attribute in attributes)
        {
            if (attribute.Name == name && parser(attribute.Value, out T? parsed) && parsed is not null)
            {
                return parsed;
            }
        }

        return null;
    }

    public static IReadOnlyList<string> SplitValue(this IList<SdpAttribute> attributes, string name) =>
        attributes.ValueOf(name)?.Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? [];

    public static void SetFlag(this IList<SdpAttribute> attributes, string name, bool present)
    {
        bool has = attributes.Has(name);
        if (present && !has)
        {
            attributes.Add(new SdpAttribute(name));
        }
        else if (!present && has)
        {
            for (int i = attributes.Count - 1; i >= 0; i--)
            {
                if (attributes[i].Name == name)
                {
                    attributes.RemoveAt(i);
                }
            }
        }
    }

    public static void SetValue(this IList<SdpAttribute> attributes, string name, string? value)
    {
        for (int i = 0; i < attributes.Count; i++)
        {
            if (attributes[i].Name == name)
            {
                if (value is null)
                {
                    attributes.RemoveAt(i);
                    i--;
                    continue;
                }

                attributes[i] = new SdpAttribute(name, value);
                return;
            }
        }

        if (value is not null)
        {
            attributes.Add(new SdpAttribute(name, value));
        }
    }
}
